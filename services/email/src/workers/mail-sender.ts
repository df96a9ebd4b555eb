import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { backoffMs, enqueueEvents, PollingWorker, stackFrames, type BucketSpec, type PiiCipher, type TokenBucket } from '@gelombang/platform';
import type { EmailConfig } from '../config';
import type { ClaimedMail, VerificationsRepository } from '../data-access/verifications-repository';
import type { ClaimedSignIn, SignInsRepository } from '../data-access/sign-ins-repository';
import { smtpErrorFields, type Mailer } from '../data-access/smtp-mailer';
import { newCode, unusableCodeHmac, type CodeHasher } from '../domain/codes';
import { verificationRequestedEvent } from '../domain/events';
import { noticeMail, signInMail, verificationMail } from '../domain/mail-content';
import { decideSignInMail, type SignInRules } from '../domain/sign-in';
import type { Notice } from '../domain/verification';

type QuotaConfig = Pick<EmailConfig, 'REDIS_KEY_PREFIX' | 'MAIL_QUOTA_BURST' | 'MAIL_QUOTA_PER_SEC' | 'MAIL_QUOTA_HEADROOM_MS'>;
type SenderConfig = QuotaConfig &
  Pick<
    EmailConfig,
    | 'EMAIL_CODE_TTL_SEC'
    | 'EMAIL_RESEND_COOLDOWN_SEC'
    | 'MAIL_BATCH_SIZE'
    | 'MAIL_CONCURRENCY'
    | 'MAIL_CLAIM_LEASE_SEC'
    | 'MAIL_POLL_MS'
    | 'MAIL_RETRY_BASE_MS'
    | 'MAIL_RETRY_MAX_MS'
  >;

/** The provider's quota as one bucket for every replica, its burst cut by the headroom (see config.ts). */
export function mailQuotaBucket(config: QuotaConfig): BucketSpec {
  const headroom = (config.MAIL_QUOTA_PER_SEC * config.MAIL_QUOTA_HEADROOM_MS) / 1000;
  return {
    key: `${config.REDIS_KEY_PREFIX}email:mail-provider`,
    capacity: Math.max(1, config.MAIL_QUOTA_BURST - headroom),
    ratePerSec: config.MAIL_QUOTA_PER_SEC,
  };
}

export interface MailSenderSettings {
  /** The provider's quota: one bucket every replica shares. */
  quota: BucketSpec;
  codeTtlSec: number;
  /** A mail a dead sender may have sent is sent again no sooner than this after it (decision 0024). */
  resendCooldownSec: number;
  batchSize: number;
  concurrency: number;
  leaseSec: number;
  pollMs: number;
  /** After an SMTP failure the retry waits at least this, then up to twice as long per failure (jittered)… */
  retryBaseMs: number;
  /** … but never longer than this. */
  retryMaxMs: number;
}

/** The sender's settings, as the service's config declares them. */
export const mailSenderSettings = (config: SenderConfig): MailSenderSettings => ({
  quota: mailQuotaBucket(config),
  codeTtlSec: config.EMAIL_CODE_TTL_SEC,
  resendCooldownSec: config.EMAIL_RESEND_COOLDOWN_SEC,
  batchSize: config.MAIL_BATCH_SIZE,
  concurrency: config.MAIL_CONCURRENCY,
  leaseSec: config.MAIL_CLAIM_LEASE_SEC,
  pollMs: config.MAIL_POLL_MS,
  retryBaseMs: config.MAIL_RETRY_BASE_MS,
  retryMaxMs: config.MAIL_RETRY_MAX_MS,
});

export interface MailSenderMetrics {
  sent(): void;
  /** A notice mail the provider accepted (counted in sent() too). */
  noticeSent(kind: Notice): void;
  failed(): void;
  quotaWait(reason: 'empty' | 'redis_unavailable'): void;
  /** What became of a sign-in request: mailed, or dropped and why. */
  signInRequest(outcome: 'mailed' | 'not_verified' | 'cooldown' | 'limit'): void;
}

export interface MailSenderOptions extends MailSenderSettings {
  repository: VerificationsRepository;
  signIns: SignInsRepository;
  signInRules: SignInRules;
  bucket: TokenBucket;
  mailer: Mailer;
  cipher: PiiCipher;
  hasher: CodeHasher;
  signInHasher: CodeHasher;
  logger: FastifyBaseLogger;
  /** Called after a commit that wrote outbox rows. */
  onEnqueued: () => void;
  metrics: MailSenderMetrics;
}

/** One claimed piece of work: a verification mail, or a sign-in request (which may end in no mail). */
type Job = { run: () => Promise<void>; logFields: Record<string, unknown> };

/**
 * The outbox-like mail loop, for verification mails (a code, or a notice for a registration that met
 * a conflict) and sign-in mails alike. Each round claims due rows of both queues (FOR UPDATE SKIP
 * LOCKED, with a lease), then works them `concurrency` at a time. Every mail, a notice too, first
 * takes a token from the shared Redis bucket; an empty bucket means waiting its retryAfterMs. When
 * Redis cannot answer, no mail goes out (the platform's per-process fallback would let N replicas send
 * N times the quota): the loop waits. A sign-in request the rules drop (not a verified address,
 * cooldown, limit) takes no token.
 */
export class MailSender extends PollingWorker {
  constructor(private readonly o: MailSenderOptions) {
    super(o.logger, 'mail-sender', o.pollMs);
  }

  protected async round(): Promise<boolean> {
    const token = randomUUID();
    const mails = await this.o.repository.claimDue(this.o.batchSize, this.o.leaseSec, token, this.o.resendCooldownSec);
    const signIns = await this.o.signIns.claimDue(this.o.batchSize, this.o.leaseSec, token);
    const queue: Job[] = [
      ...mails.map((m) => ({ run: () => this.deliver(m, token), logFields: { registrationId: m.registrationId } })),
      // No key for a sign-in request in a log line: its blind index is a pseudonym of the address.
      ...signIns.map((r) => ({ run: () => this.deliverSignIn(r, token), logFields: { kind: 'sign-in', registrationId: r.verifiedRegistrationId } })),
    ];
    if (queue.length === 0) return false;
    const worker = async () => {
      for (let job = queue.shift(); job && this.isRunning; job = queue.shift()) {
        const { logFields } = job;
        await job
          .run()
          .catch((e) =>
            this.log.error({ ...logFields, errName: (e as Error).name, stack: stackFrames(e) }, 'delivering a mail failed; it is retried after the lease'),
          );
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency, queue.length) }, worker));
    if (!this.isRunning) {
      // Stopped mid-round: the rows not sent go back to the queue now rather than after the lease.
      await Promise.all([this.o.repository.release(token), this.o.signIns.release(token)]).catch((e) =>
        this.log.warn({ errName: (e as Error).name }, 'releasing claimed mails failed; they wait for the lease'),
      );
    }
    return true;
  }

  /** Waits for a token from the shared bucket; false if the sender is stopping. */
  private async takeToken(): Promise<boolean> {
    while (this.isRunning) {
      const d = await this.o.bucket.take([this.o.quota]);
      if (d.allowed && d.source === 'redis') return true;
      const reason = d.source === 'redis' ? 'empty' : 'redis_unavailable';
      this.o.metrics.quotaWait(reason);
      await this.pause(reason === 'empty' ? Math.max(d.retryAfterMs, 5) : 500);
    }
    return false;
  }

  private async deliver(mail: ClaimedMail, token: string): Promise<void> {
    const registrationId = mail.registrationId;
    if (!(await this.takeToken())) return;
    let to: string;
    try {
      to = this.o.cipher.decrypt(mail.emailEnc, 'email');
    } catch (e) {
      // A key that is not configured here: nothing to send until it is; keep the row, retry late.
      this.log.error({ registrationId, errName: (e as Error).name }, 'cannot open the sealed address');
      await this.o.repository.markFailed(registrationId, token, this.o.retryMaxMs).catch(() => undefined);
      return;
    }
    const { notice } = mail;
    // A notice's registration gets a "code" no code matches, through the very same steps: its routes
    // then answer as for any registration, and no code ever verifies it.
    const code = notice ? undefined : newCode();
    const codeHmac = code === undefined ? unusableCodeHmac() : this.o.hasher.hash(registrationId, code);
    // The code is stored before it is mailed: whoever reads the mail and confirms at once finds it,
    // even before markSent below has committed.
    let ours: boolean;
    try {
      ours = await this.o.repository.recordPending(registrationId, token, notice, {
        codeHmac,
        expiresAt: new Date(Date.now() + this.o.codeTtlSec * 1000),
      });
    } catch (e) {
      this.log.error(
        { registrationId, errName: (e as Error).name, stack: stackFrames(e) },
        'could not store the code; nothing sent, it is mailed after the lease',
      );
      return;
    }
    if (!ours) {
      this.log.warn({ registrationId }, 'claim lost before sending (lease over, or verified meanwhile); nothing sent');
      return;
    }
    const content = code === undefined ? noticeMail(notice!) : verificationMail(code, this.o.codeTtlSec);
    try {
      await this.o.mailer.send({ to, ...content });
    } catch (e) {
      this.o.metrics.failed();
      // Jittered, so replicas whose sends failed together (the provider went away) come back spread out;
      // never sooner than the base, which leaves the applicant time to confirm a mail that did arrive.
      const delayMs = backoffMs(mail.mailFailures, { baseMs: this.o.retryBaseMs, maxMs: this.o.retryMaxMs, minMs: this.o.retryBaseMs });
      // The pending code stays acceptable: an error after DATA may still have delivered the mail.
      this.log.warn({ registrationId, ...smtpErrorFields(e), failures: mail.mailFailures + 1, retryInMs: delayMs }, 'mail not accepted, will retry');
      await this.o.repository
        .markFailed(registrationId, token, delayMs)
        .catch((err) => this.log.error({ registrationId, errName: (err as Error).name }, 'could not record the failed mail; it is retried after the lease'));
      return;
    }
    const sentAt = new Date();
    const expiresAt = new Date(sentAt.getTime() + this.o.codeTtlSec * 1000);
    try {
      // A notice hands no code to anyone: nothing to announce on email.verification-requested.v1.
      const recorded = await this.o.repository.markSent(registrationId, token, { codeHmac, sentAt, expiresAt }, (tx, sendCount) =>
        notice
          ? Promise.resolve()
          : enqueueEvents(tx, [verificationRequestedEvent(registrationId, { emailMasked: mail.emailMasked, sendCount, sentAt, expiresAt })]),
      );
      this.o.metrics.sent();
      if (notice) this.o.metrics.noticeSent(notice);
      if (recorded && notice) {
        this.log.info({ registrationId, notice, sendCount: mail.sendCount + 1 }, 'notice mail sent');
      } else if (recorded) {
        this.o.onEnqueued();
        this.log.info({ registrationId, sendCount: mail.sendCount + 1 }, 'verification mail sent');
      } else {
        this.log.warn({ registrationId }, 'mail sent but its claim was lost; the newer state stays');
      }
    } catch (e) {
      this.o.metrics.sent();
      if (notice) this.o.metrics.noticeSent(notice);
      this.log.error(
        { registrationId, errName: (e as Error).name, stack: stackFrames(e) },
        'mail sent but not recorded; its code stays acceptable as pending, and a new mail goes out after the lease',
      );
    }
  }

  /**
   * A sign-in request: dropped without a mail unless the address is a verified registration's and
   * within its limits; else mailed like a verification code (code stored before the send, under the
   * claim; a failed send is retried with back-off; the code stays acceptable meanwhile).
   */
  private async deliverSignIn(req: ClaimedSignIn, token: string): Promise<void> {
    const d = decideSignInMail(req, req.verifiedRegistrationId, this.o.signInRules, new Date());
    if (d.kind === 'drop') {
      await this.o.signIns.drop(req.emailIndex, token);
      this.o.metrics.signInRequest(d.reason);
      return;
    }
    const registrationId = req.verifiedRegistrationId!;
    if (!(await this.takeToken())) return;
    let to: string;
    try {
      to = this.o.cipher.decrypt(req.emailEnc!, 'email');
    } catch (e) {
      this.log.error({ registrationId, kind: 'sign-in', errName: (e as Error).name }, 'cannot open the sealed address');
      await this.o.signIns.markFailed(req.emailIndex, token, this.o.retryMaxMs).catch(() => undefined);
      return;
    }
    const code = newCode();
    const expiresAt = new Date(Date.now() + this.o.codeTtlSec * 1000);
    if (!(await this.o.signIns.recordCode(req.emailIndex, token, { registrationId, codeHmac: this.o.signInHasher.hash(req.emailIndex, code), expiresAt }))) {
      this.log.warn({ registrationId, kind: 'sign-in' }, 'claim lost before sending; nothing sent');
      return;
    }
    try {
      await this.o.mailer.send({ to, ...signInMail(code, this.o.codeTtlSec) });
    } catch (e) {
      this.o.metrics.failed();
      const delayMs = backoffMs(req.mailFailures, { baseMs: this.o.retryBaseMs, maxMs: this.o.retryMaxMs, minMs: this.o.retryBaseMs });
      this.log.warn(
        { registrationId, kind: 'sign-in', ...smtpErrorFields(e), failures: req.mailFailures + 1, retryInMs: delayMs },
        'mail not accepted, will retry',
      );
      await this.o.signIns.markFailed(req.emailIndex, token, delayMs);
      return;
    }
    this.o.metrics.sent();
    this.o.metrics.signInRequest('mailed');
    await this.o.signIns.markSent(req.emailIndex, token, new Date(), d.sends);
    this.log.info({ registrationId, kind: 'sign-in' }, 'sign-in mail sent');
  }
}
