import { nikVerificationRequestedV1Event, registrationStatusChangedV1Event } from '@gelombang/contracts';
import { checkNikMatchesBirthDate, parseNik } from '@gelombang/nik';
import type { PiiCipher } from '@gelombang/platform';
import type { RegistrationsRepository } from '../data-access/registrations-repository';
import { events } from './events';

export type CorrectionOutcome =
  | { kind: 'accepted'; attempt: number }
  | { kind: 'not_found' }
  /** The registration is not waiting for a correction (status is not nik_rejected). */
  | { kind: 'not_allowed' }
  /** The registry said the NIK is inactive: a typo fix cannot help. */
  | { kind: 'not_correctable' }
  | { kind: 'limit_reached' }
  | { kind: 'unchanged' }
  | { kind: 'invalid'; codes: string[] }
  | { kind: 'duplicate' };

export interface CorrectNikDeps {
  cipher: PiiCipher;
  repository: RegistrationsRepository;
  /** False when a matched registration holds the NIK; throws when Redis is away. */
  claimNik(nikIndex: string, registrationId: string): Promise<boolean>;
  /**
   * 'accepted' (the default): a corrected NIK that another (matched) registration holds is accepted like
   * any correction and the NIK service rejects it (NIK_ALREADY_HELD, an attempt used, the registry not
   * asked) — so the route says nothing about who holds a NIK; 'conflict': 409 as before.
   */
  conflictAnswer?: 'accepted' | 'conflict';
  releaseNik(nikIndex: string, registrationId: string): Promise<void>;
  maxCorrections: number;
  rules: { today: () => Date; minAge: number; maxAge: number };
  /** After commit: the outbox has new events. */
  onCommitted(): void;
}

const isUniqueViolation = (e: unknown) => (e as { code?: string })?.code === '23505';

/**
 * An applicant whose NIK the registry rejected as not found or mismatched sends the corrected NIK.
 * Under a row lock: the registration must be nik_rejected (and correctable, within the correction
 * limit); the new NIK must be well-formed and match the birth date given at registration; whether
 * another registration holds it is the NIK service's answer, like any registry outcome. The NIK, the new status and the nik.verification-requested.v1 event commit in
 * one transaction (outbox), so the 202 is as durable as a registration's.
 */
export async function correctNik(deps: CorrectNikDeps, registrationId: string, nik: string): Promise<CorrectionOutcome> {
  const parsed = parseNik(nik, { today: deps.rules.today(), minAge: deps.rules.minAge, maxAge: deps.rules.maxAge });
  // The age window is the birth date's business, and the birth date cannot change here: the
  // NIK-vs-birth-date check below reports what matters.
  const formatIssues = parsed.ok ? [] : parsed.issues.map((i) => i.code).filter((c) => c !== 'NIK_AGE_OUT_OF_RANGE');
  if (formatIssues.length > 0) return { kind: 'invalid', codes: formatIssues };
  const nikIndex = deps.cipher.blindIndex('nik', nik);
  let claimed = false;
  let previousNikIndex: string | undefined;
  try {
    const outcome = await deps.repository.transaction(async (client): Promise<CorrectionOutcome> => {
      const target = await deps.repository.lockForCorrection(client, registrationId);
      if (!target || target.status === 'rejected_duplicate') return { kind: 'not_found' };
      if (target.status !== 'nik_rejected' || target.erased) return { kind: 'not_allowed' };
      if (target.reason === 'NIK_INACTIVE') return { kind: 'not_correctable' };
      if (target.nikAttempt - 1 >= deps.maxCorrections) return { kind: 'limit_reached' };
      if (target.nikIndex === nikIndex) return { kind: 'unchanged' };
      const mismatch = checkNikMatchesBirthDate(nik, deps.cipher.decrypt(target.birthDateEnc, 'birthDate'));
      if (mismatch.length > 0) return { kind: 'invalid', codes: mismatch.map((i) => i.code) };
      try {
        claimed = await deps.claimNik(nikIndex, registrationId);
        if (!claimed && deps.conflictAnswer === 'conflict') return { kind: 'duplicate' };
      } catch {
        // Redis away: the NIK service still refuses a NIK another registration holds.
      }
      const attempt = target.nikAttempt + 1;
      const now = new Date().toISOString();
      const provinceCode = nik.slice(0, 2);
      const nikEnc = deps.cipher.encrypt(nik, 'nik');
      const requested = events.message(nikVerificationRequestedV1Event, {
        registrationId,
        attempt,
        requestedAt: now,
        pii: { nik: nikEnc, fullName: target.fullNameEnc, birthDate: target.birthDateEnc },
        nikIndex,
        provinceCode,
      });
      const status = events.message(registrationStatusChangedV1Event, { registrationId, status: 'nik_resubmitted', attempt, changedAt: now });
      await deps.repository.applyCorrection(client, { registrationId, nikIndex, nikEnc, provinceCode, attempt, eventId: status.id, changedAt: now }, [
        requested,
        status,
      ]);
      previousNikIndex = target.nikIndex;
      return { kind: 'accepted', attempt };
    });
    if (outcome.kind === 'accepted') {
      deps.onCommitted();
      // The mistyped NIK may be somebody else's: free it for them.
      if (previousNikIndex) await deps.releaseNik(previousNikIndex, registrationId).catch(() => undefined);
    } else if (claimed) {
      await deps.releaseNik(nikIndex, registrationId).catch(() => undefined);
    }
    return outcome;
  } catch (e) {
    if (claimed) await deps.releaseNik(nikIndex, registrationId).catch(() => undefined);
    if (isUniqueViolation(e)) return { kind: 'duplicate' };
    throw e;
  }
}
