import { eventBuilder } from '@gelombang/contracts';

/** Every event the intake writes is built (and checked against its contract) here. */
export const events = eventBuilder('urn:gelombang:intake');
