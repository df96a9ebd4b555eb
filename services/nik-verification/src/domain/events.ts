import { eventBuilder } from '@gelombang/contracts';

/** Every event the NIK verification service writes is built (and checked against its contract) here. */
export const events = eventBuilder('urn:gelombang:nik-verification');
