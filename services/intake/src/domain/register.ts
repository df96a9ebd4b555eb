import { createHash } from 'node:crypto';
import {
  newId,
  registrationSubmittedV1Event,
  type EventMessage,
  type RegistrationConflict,
  type RegistrationRequest,
  type RegistrationSubmittedV1Data,
} from '@gelombang/contracts';
import { maskEmail, type Decision, type PiiCipher } from '@gelombang/platform';
import type { ClaimInput, ClaimResult } from '../data-access/claims-store';
import { events } from './events';

export type RegisterOutcome = (
  | { kind: 'accepted'; registrationId: string; submittedAt: string; replayed: boolean; conflict?: RegistrationConflict }
  /** Only when conflicts are answered synchronously (INTAKE_CONFLICT_ANSWER=conflict). */
  | { kind: 'duplicate'; field: 'nik' | 'email' }
  | { kind: 'idempotency_conflict' }
  | { kind: 'idempotency_in_progress' }
  | { kind: 'limited' }
) & { /** The client's admission decision (rate-limit headers), when one was taken. */ admission?: Decision };

/** The admission decision travels with an error thrown after it was taken (for the rate-limit headers). */
export function withAdmission(e: unknown, admission: Decision | undefined): unknown {
  if (admission && e && typeof e === 'object') (e as { admission?: Decision }).admission = admission;
  return e;
}

/** A claim port's answer: the claim, or a refused admission; with the admission decision when taken. */
export type AdmittedClaim = (ClaimResult | { kind: 'limited' }) & { admission?: Decision };

/** What the use case needs from the outside world; the route wires the real adapters in. */
export interface RegisterPorts {
  cipher: PiiCipher;
  /** Admits `client` (rate limits) and claims NIK, email and Idempotency-Key: one decision. */
  claim(input: ClaimInput, client: string): Promise<AdmittedClaim>;
  complete(input: ClaimInput, emailMasked: string): Promise<void>;
  /** The publish failed: free the Idempotency-Key, keep NIK/email for the same person's retry. */
  markUncertain(input: ClaimInput): Promise<void>;
  /** Resolves once Kafka stored the event with acks=all; rejects otherwise. */
  publish(message: EventMessage): Promise<void>;
  /** 'accepted' (the default): a conflict is answered like any registration; 'conflict': 409 as before. */
  conflictAnswer?: 'accepted' | 'conflict';
}

export const sha256 = (s: string) => createHash('sha256').update(s).digest('base64url');

/** Canonical JSON (sorted keys) so that key order does not make "the same body" different. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function buildSubmittedData(
  req: RegistrationRequest,
  cipher: PiiCipher,
  ids: { registrationId: string; submittedAt: string; idempotencyKeyHash?: string; conflict?: RegistrationConflict },
  /** The blind indexes when the caller computed them already (they are HMACs: not free). */
  blindIndex = { nik: cipher.blindIndex('nik', req.nik), email: cipher.blindIndex('email', req.email) },
): RegistrationSubmittedV1Data {
  const seal = (field: string, v: string) => cipher.encrypt(v, field);
  return {
    registrationId: ids.registrationId,
    submittedAt: ids.submittedAt,
    pii: {
      nik: seal('nik', req.nik),
      email: seal('email', req.email),
      phone: seal('phone', req.phone),
      fullName: seal('fullName', req.fullName),
      birthDate: seal('birthDate', req.birthDate),
      ...(req.birthPlace !== undefined ? { birthPlace: seal('birthPlace', req.birthPlace) } : {}),
      ...(req.kkNumber !== undefined ? { kkNumber: seal('kkNumber', req.kkNumber) } : {}),
    },
    blindIndex,
    emailMasked: maskEmail(req.email),
    provinceCode: req.provinceCode,
    ...(ids.idempotencyKeyHash ? { idempotencyKeyHash: ids.idempotencyKeyHash } : {}),
    ...(ids.conflict ? { conflict: ids.conflict } : {}),
  };
}

/**
 * Accept a validated registration: claim NIK and email (and the Idempotency-Key), publish the sealed
 * event and only then report it accepted. If the publish fails, nothing is written but the claims,
 * kept for the same applicant's retry (which then reuses the registration id).
 * A submission that conflicts (the NIK held by a matched registration or busy with pending ones, the
 * email registered) takes the same path — one claim round trip, one publish, the same answer — with
 * the conflict in its event: the projector stores it as rejected_duplicate and the email service tells
 * the address's owner. Answering it differently would tell anyone whether a NIK or an email is
 * registered (issue #13; the trade-off is in docs/security.md).
 */
export async function register(
  ports: RegisterPorts,
  req: RegistrationRequest,
  rawBody: unknown,
  idempotencyKey: string | undefined,
  client = '',
): Promise<RegisterOutcome> {
  const submittedAt = new Date().toISOString();
  const idempotencyKeyHash = idempotencyKey ? sha256(idempotencyKey) : undefined;
  const claimInput: ClaimInput = {
    nikIndex: ports.cipher.blindIndex('nik', req.nik),
    emailIndex: ports.cipher.blindIndex('email', req.email),
    ...(idempotencyKeyHash ? { idempotencyKeyHash } : {}),
    // Only an Idempotency-Key record keeps it (to tell a replay from a different body under the same
    // key). Keyed (HMAC), not a bare hash: a body is personal data and a NIK's space is small enough to brute-force.
    bodyHash: idempotencyKeyHash ? ports.cipher.blindIndex('body', canonicalJson(rawBody)) : '',
    registrationId: newId(),
    submittedAt,
  };

  const claim = await ports.claim(claimInput, client);
  const { admission } = claim;
  if (claim.kind === 'limited') return claim;
  if (claim.kind === 'conflict') {
    if (ports.conflictAnswer === 'conflict') return { kind: 'duplicate', field: claim.reason === 'EMAIL_REGISTERED' ? 'email' : 'nik', admission };
    claimInput.conflict = claim.reason;
  }
  if (claim.kind === 'idempotent') {
    if (claim.bodyHash !== claimInput.bodyHash) return { kind: 'idempotency_conflict', admission };
    if (claim.state === 'pending') return { kind: 'idempotency_in_progress', admission };
    return { kind: 'accepted', registrationId: claim.registrationId, submittedAt: claim.submittedAt, replayed: true, admission };
  }
  // A retry after a failed publish reuses the id the first attempt may already have stored.
  claimInput.registrationId = claim.registrationId;
  const { registrationId } = claimInput;

  const data = buildSubmittedData(
    req,
    ports.cipher,
    { registrationId, submittedAt, ...(idempotencyKeyHash ? { idempotencyKeyHash } : {}), ...(claimInput.conflict ? { conflict: claimInput.conflict } : {}) },
    { nik: claimInput.nikIndex, email: claimInput.emailIndex },
  );
  try {
    await ports.publish(events.message(registrationSubmittedV1Event, data));
  } catch (e) {
    await ports.markUncertain(claimInput).catch(() => undefined);
    throw withAdmission(e, admission);
  }
  // Not awaited: the registration is durable once Kafka acknowledged; this only makes the
  // Idempotency-Key replayable (until then a replay gets 409 IN_PROGRESS) and the GET answer early.
  ports.complete(claimInput, data.emailMasked).catch(() => undefined);
  return { kind: 'accepted', registrationId, submittedAt, replayed: false, admission, ...(claimInput.conflict ? { conflict: claimInput.conflict } : {}) };
}
