import type { SignInsRepository } from '../data-access/sign-ins-repository';
import type { CodeHasher } from './codes';
import { decideSignInCode, type SignInRules } from './sign-in';

export interface SignInDeps {
  signIns: SignInsRepository;
  /** Hashes sign-in codes (their own purpose key), owned by the address's blind index. */
  signInHasher: CodeHasher;
  /** The blind index of a normalised address, as the intake stored it (`blindIndex.email`). */
  emailIndex: (email: string) => string;
  signInRules: SignInRules;
  now: () => Date;
}

/**
 * Asks for a sign-in code. The same work for every address — one HMAC, one upsert — and nothing
 * looked up: the mail sender decides later, out of band, whether the address gets a mail, so
 * neither the answer nor its timing says whether the address is registered.
 */
export async function requestSignIn(deps: SignInDeps & { onQueued: () => void }, email: string): Promise<void> {
  await deps.signIns.requestMail(deps.emailIndex(email));
  deps.onQueued();
}

export type SignInOutcome = { kind: 'signed_in'; registrationId: string } | { kind: 'invalid' } | { kind: 'exhausted'; retryAfterSec: number };

/**
 * Checks a sign-in code under the address's row lock (parallel guesses are counted one by one). An
 * unknown address is checked like a known one, against a dummy hash, and counted the same way.
 */
export async function verifySignIn(deps: SignInDeps, email: string, code: string): Promise<SignInOutcome> {
  const emailIndex = deps.emailIndex(email);
  const dummy = deps.signInHasher.hash('', '');
  return deps.signIns.inTransaction(async (tx): Promise<SignInOutcome> => {
    const state = await deps.signIns.lockForCode(tx, emailIndex);
    const d = decideSignInCode(state, deps.signInRules, deps.now(), (codeHmac) => deps.signInHasher.matches(emailIndex, code, codeHmac ?? dummy));
    switch (d.kind) {
      case 'sign_in':
        await deps.signIns.consumeCode(tx, emailIndex);
        return { kind: 'signed_in', registrationId: d.registrationId };
      case 'invalid':
        await deps.signIns.recordFailure(tx, emailIndex, d.failures);
        return d.exhaustsNow ? { kind: 'exhausted', retryAfterSec: d.retryAfterSec } : { kind: 'invalid' };
      case 'exhausted':
        return d;
    }
  });
}
