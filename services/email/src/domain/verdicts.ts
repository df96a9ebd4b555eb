import type { RegistrationStatusChangedV1Data } from '@gelombang/contracts';
import type { Notice } from './verification';

/** The intake projector's decision about one registration, as this service follows it (decision 0024). */
export type Verdict = { registrationId: string; verdict: 'accepted' } | { registrationId: string; verdict: 'rejected'; notice: Notice };

/**
 * What a status change says about who holds an address: `pending_email_verification` is the
 * projector's "stored" (the registration holds its address), `rejected_duplicate` its "rejected"
 * with the notice the applicant is owed (the reason names it; a duplicate that lost on the address,
 * DUPLICATE_NIK_OR_EMAIL, is told the address is registered). Anything else is no verdict.
 */
export function verdictOf(e: Pick<RegistrationStatusChangedV1Data, 'registrationId' | 'status' | 'reason'>): Verdict | undefined {
  if (e.status === 'pending_email_verification') return { registrationId: e.registrationId, verdict: 'accepted' };
  if (e.status !== 'rejected_duplicate') return undefined;
  const notice: Notice = e.reason === 'NIK_HELD' || e.reason === 'NIK_BUSY' ? e.reason : 'EMAIL_REGISTERED';
  return { registrationId: e.registrationId, verdict: 'rejected', notice };
}
