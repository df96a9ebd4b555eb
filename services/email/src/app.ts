import { join } from 'node:path';
import { REGISTRATION_SUBMITTED_V1 } from '@gelombang/contracts';
import {
  counter,
  deadLetterTo,
  connectInfrastructure,
  createServer,
  PiiCipher,
  scrapedGauge,
  startConsumer,
  TokenBucket,
  type App,
  type BucketSpec,
  type RunningConsumer,
} from '@gelombang/platform';
import { trustProxySetting, type EmailConfig } from './config';
import { parseSubmittedWith, submittedHandler } from './consumers/registration-submitted.consumer';
import { smtpMailer, type Mailer } from './data-access/smtp-mailer';
import { VerificationsRepository } from './data-access/verifications-repository';
import { CodeHasher } from './domain/codes';
import { emailVerificationRoutes } from './routes/email-verifications';
import { MailSender } from './workers/mail-sender';

export interface BuildOptions {
  logStream?: NodeJS.WritableStream;
  /** Consumers begin at the topic's end (tests share topics with everything else on the broker). */
  consumerStartAt?: 'committed' | 'end';
  /** Wraps the SMTP mailer (tests: act at the moment a mail goes out, or make a send fail). */
  wrapMailer?: (mailer: Mailer) => Mailer;
}

/** The provider's quota as one bucket for every replica, its burst cut by the headroom (see config.ts). */
export function mailQuotaBucket(config: EmailConfig): BucketSpec {
  const headroom = (config.MAIL_QUOTA_PER_SEC * config.MAIL_QUOTA_HEADROOM_MS) / 1000;
  return {
    key: `${config.REDIS_KEY_PREFIX}email:mail-provider`,
    capacity: Math.max(1, config.MAIL_QUOTA_BURST - headroom),
    ratePerSec: config.MAIL_QUOTA_PER_SEC,
  };
}

export const MIGRATIONS_DIR = join(__dirname, '..', 'migrations');

/**
 * Builds the email verification service: PostgreSQL (migrated, with the outbox), Redis (the provider
 * quota and the confirm guard), Kafka (consumer, outbox relay), the SMTP pool and the mail sender.
 * Never listens (server.ts does).
 */
export async function buildApp(config: EmailConfig, opts: BuildOptions = {}): Promise<App> {
  const app = await createServer({
    service: 'email',
    description: 'Gelombang email verification: codes by mail within the provider quota, confirm, hand over to the NIK check',
    logLevel: config.LOG_LEVEL,
    bodyLimit: config.HTTP_BODY_LIMIT_BYTES,
    trustProxy: trustProxySetting(config.HTTP_TRUST_PROXY),
    ...(opts.logStream ? { logStream: opts.logStream } : {}),
  });
  const m = {
    sent: counter(app.metrics, 'email_mails_sent_total', 'Verification mails the provider accepted'),
    failed: counter(app.metrics, 'email_mail_send_failures_total', 'Mails the provider refused or could not take (retried later)'),
    quotaWaits: counter(app.metrics, 'email_quota_waits_total', 'Times a mail waited for the provider quota, by reason', ['reason']),
    confirms: counter(app.metrics, 'email_confirms_total', 'POST …/confirm answers, by outcome', ['outcome']),
    consumed: counter(app.metrics, 'email_submissions_consumed_total', 'registration.submitted.v1 events, by outcome', ['outcome']),
    duplicates: counter(app.metrics, 'email_duplicates_skipped_total', 'Registrations for an address another registration holds: nothing stored or mailed'),
    published: counter(app.metrics, 'email_events_published_total', 'Outbox rows published to Kafka'),
  };

  const { pool, redis, kafka, producer, relay, close } = await connectInfrastructure(app, config, {
    service: 'email',
    migrationsDir: MIGRATIONS_DIR,
    whenRedisDown: 'no mail goes out until it is',
    onPublished: (n) => m.published.inc(n),
  });
  const repository = new VerificationsRepository(pool);

  scrapedGauge(app.metrics, 'email_mail_backlog', 'Mails owed: due now, or waiting for a retry or a lease', async () => [{ value: await repository.backlog() }]);

  const bucket = new TokenBucket(redis, {
    onSourceChange: (source) =>
      source === 'local' ? app.log.warn('redis unavailable: mails wait, confirm limits per process') : app.log.info('redis back: mails flow again'),
  });


  const cipher = new PiiCipher(config.PII_KEYS, config.PII_ACTIVE_KEY_ID, config.PII_INDEX_KEY);
  const hasher = new CodeHasher(config.PII_INDEX_KEY);
  const rules = {
    codeTtlSec: config.EMAIL_CODE_TTL_SEC,
    maxAttempts: config.EMAIL_MAX_ATTEMPTS,
    resendCooldownSec: config.EMAIL_RESEND_COOLDOWN_SEC,
    maxSends: config.EMAIL_MAX_SENDS,
    sendsWindowSec: config.EMAIL_SENDS_WINDOW_SEC,
  };

  const smtp = smtpMailer({ url: config.MAIL_SMTP_URL, from: config.MAIL_FROM, maxConnections: config.MAIL_CONCURRENCY, timeoutMs: config.MAIL_SMTP_TIMEOUT_MS });
  const mailer = opts.wrapMailer ? opts.wrapMailer(smtp) : smtp;
  const sender = new MailSender({
    repository,
    bucket,
    quota: mailQuotaBucket(config),
    mailer,
    cipher,
    hasher,
    codeTtlSec: config.EMAIL_CODE_TTL_SEC,
    batchSize: config.MAIL_BATCH_SIZE,
    concurrency: config.MAIL_CONCURRENCY,
    leaseSec: config.MAIL_CLAIM_LEASE_SEC,
    pollMs: config.MAIL_POLL_MS,
    retryBaseMs: config.MAIL_RETRY_BASE_MS,
    retryMaxMs: config.MAIL_RETRY_MAX_MS,
    logger: app.log as any,
    onEnqueued: () => relay.wake(),
    metrics: { sent: () => m.sent.inc(), failed: () => m.failed.inc(), quotaWait: (reason) => m.quotaWaits.inc({ reason }) },
  });
  if (config.MAIL_SENDER_ENABLED) {
    sender.start();
    app.readiness.add('mail-sender', async () => {
      if (!sender.isRunning) throw new Error('mail sender stopped');
    });
  }

  emailVerificationRoutes(app, {
    repository,
    hasher,
    rules,
    now: () => new Date(),
    onEnqueued: () => relay.wake(),
    onQueued: () => sender.wake(),
    onConfirm: (outcome) => m.confirms.inc({ outcome }),
    bucket,
    confirmBucket: (ip) => ({
      key: `${config.REDIS_KEY_PREFIX}email:rl:confirm:${ip}`,
      capacity: config.CONFIRM_RATE_LIMIT_BURST,
      ratePerSec: config.CONFIRM_RATE_LIMIT_PER_SEC,
    }),
  });

  const consumers: RunningConsumer[] = [];
  if (config.CONSUMER_ENABLED) {
    const group = config.CONSUMER_GROUP;
    consumers.push(
      await startConsumer(kafka, {
        groupId: group,
        topics: [REGISTRATION_SUBMITTED_V1],
        logger: app.log as any,
        parse: parseSubmittedWith(cipher),
        handle: submittedHandler({
          repository,
          onStored: ({ stored, replays, duplicates }) => {
            m.consumed.inc({ outcome: 'stored' }, stored);
            m.consumed.inc({ outcome: 'replay' }, replays);
            m.consumed.inc({ outcome: 'duplicate_email' }, duplicates);
            m.duplicates.inc(duplicates);
            if (stored > 0) sender.wake();
          },
        }),
        deadLetter: deadLetterTo(producer, group),
        startAt: opts.consumerStartAt ?? config.CONSUMER_START_AT,
      }),
    );
    app.readiness.add('consumers', async () => {
      if (!consumers.every((c) => c.isRunning)) throw new Error('consumer stopped');
    });
  }

  // Order matters: stop taking work, let the sender finish its mails (they enqueue events), then the
  // relay and the producer, then the stores.
  app.addHook('onClose', async () => {
    await close([...consumers, sender]);
    mailer.close();
  });
  return app;
}
