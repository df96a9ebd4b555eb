import type { EventContract } from '../cloudevents';
import { registrationSubmittedV1Event } from './registration-submitted.v1';
import { registrationStatusChangedV1Event } from './registration-status-changed.v1';
import { emailVerificationRequestedV1Event, emailVerifiedV1Event } from './email.v1';
import { nikRejectedV1Event, nikVerificationRequestedV1Event, nikVerifiedV1Event } from './nik.v1';
import { enrollmentEnrolledV1Event, enrollmentWithdrawnV1Event } from './enrollment.v1';

/** One event type as the partner documentation (docs/events/) describes it. */
export interface CatalogEntry {
  contract: EventContract;
  /** One sentence: what happened. */
  summary: string;
  /** The services that publish it (their CloudEvents `source` is `urn:gelombang:<service>`). */
  publishedBy: string[];
  /** Our own consumer groups reading it. */
  consumedBy: string[];
}

/**
 * Every event type partners can consume, in funnel order: docs/events/asyncapi.yaml and the JSON
 * Schemas in docs/events/schemas/ are generated from this list (packages/contracts/test/event-docs.ts),
 * and the golden fixtures must cover each entry.
 */
export const eventCatalog: readonly CatalogEntry[] = [
  {
    contract: registrationSubmittedV1Event,
    summary: 'An applicant submitted a registration and the intake answered 202 Accepted (durable from this moment).',
    publishedBy: ['intake'],
    consumedBy: ['intake-projector', 'email-verification'],
  },
  {
    contract: emailVerificationRequestedV1Event,
    summary: 'A verification code was handed to the mail provider (first mail or a resend).',
    publishedBy: ['email'],
    consumedBy: [],
  },
  {
    contract: emailVerifiedV1Event,
    summary: 'The applicant proved the address by entering the code.',
    publishedBy: ['email'],
    consumedBy: [],
  },
  {
    contract: nikVerificationRequestedV1Event,
    summary: 'A registry check of the NIK is asked for: attempt 1 after the email was verified, 2, 3… after each correction.',
    publishedBy: ['email', 'intake'],
    consumedBy: ['nik-verification'],
  },
  {
    contract: nikVerifiedV1Event,
    summary: 'The population registry knows this person: NIK, name and birth date match.',
    publishedBy: ['nik-verification'],
    consumedBy: ['enrollment'],
  },
  {
    contract: nikRejectedV1Event,
    summary: 'The registry check refused, with a reason and whether the applicant may correct the NIK.',
    publishedBy: ['nik-verification'],
    consumedBy: [],
  },
  {
    contract: enrollmentEnrolledV1Event,
    summary: 'A verified person took a seat in a training batch (gelombang).',
    publishedBy: ['enrollment'],
    consumedBy: [],
  },
  {
    contract: enrollmentWithdrawnV1Event,
    summary: 'A seat was given back: the batch has room again.',
    publishedBy: ['enrollment'],
    consumedBy: [],
  },
  {
    contract: registrationStatusChangedV1Event,
    summary: 'A registration moved to another status (every stage announces its own): what GET /v1/registrations/:id shows.',
    publishedBy: ['intake', 'email', 'nik-verification', 'enrollment'],
    consumedBy: ['intake-projector-status', 'email-verification-status'],
  },
];
