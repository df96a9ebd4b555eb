import { join } from 'node:path';
import {
  consumersPlugin,
  createService,
  kafkaPlugin,
  outboxPlugin,
  PiiCipher,
  postgresPlugin,
  redisPlugin,
  SessionIssuer,
  sessionPlugin,
  TokenBucket,
  workerPlugin,
  type App,
  type ServiceBuildOptions,
} from '@gelombang/platform';
import { signInRules, verificationRules, type EmailConfig } from './config';
import { statusChangedConsumer } from './consumers/registration-status-changed.consumer';
import { submittedConsumer } from './consumers/registration-submitted.consumer';
import { smtpMailerFor, type Mailer } from './data-access/smtp-mailer';
import { SignInsRepository } from './data-access/sign-ins-repository';
import { VerificationsRepository } from './data-access/verifications-repository';
import { CodeHasher } from './domain/codes';
import { emailMetrics } from './metrics';
import { confirmBucket, emailVerificationRoutes } from './routes/email-verifications';
import { sessionRoutes, signInBucket } from './routes/sessions';
import { MailSender, mailSenderSettings } from './workers/mail-sender';

export interface BuildOptions extends ServiceBuildOptions {
  /** Wraps the SMTP mailer (tests: act at the moment a mail goes out, or make a send fail). */
  wrapMailer?: (mailer: Mailer) => Mailer;
}

export const MIGRATIONS_DIR = join(__dirname, '..', 'migrations');

/**
 * The email verification service, in the order it opens (and, reversed, closes: the consumer stops
 * taking work, the sender finishes its mails, then the relay, the producer, Redis, PostgreSQL).
 * Without Redis no mail goes out (workers/mail-sender.ts says why). Never listens (server.ts does).
 */
export async function buildApp(config: EmailConfig, opts: BuildOptions = {}): Promise<App> {
  return createService(
    config,
    {
      service: 'email',
      description: 'Gelombang email verification: codes by mail within the provider quota, confirm, hand over to the NIK check',
      logStream: opts.logStream,
    },
    async (app) => {
      await app.register(postgresPlugin, { config, migrationsDir: MIGRATIONS_DIR });
      await app.register(redisPlugin, { config, whenDown: 'no mail goes out until it is' });
      await app.register(kafkaPlugin, { config });
      await app.register(sessionPlugin, { config });
      const repository = new VerificationsRepository(app.pg);
      const signIns = new SignInsRepository(app.pg);
      const m = emailMetrics(app.metrics, async () => (await repository.backlog()) + (await signIns.backlog()));
      await app.register(outboxPlugin, { onPublished: m.published });
      // After a commit that wrote outbox rows: the relay publishes them at once.
      const onEnqueued = () => app.outbox.wake();

      const bucket = new TokenBucket(app.redis, {
        onSourceChange: (source) =>
          source === 'local' ? app.log.warn('redis unavailable: mails wait, confirm limits per process') : app.log.info('redis back: mails flow again'),
      });
      const cipher = PiiCipher.fromConfig(config);
      const hasher = new CodeHasher(config.PII_INDEX_KEY);
      const signInHasher = new CodeHasher(config.PII_INDEX_KEY, 'email-sign-in-code');
      // The one signer of applicant sessions in the cluster (every service verifies them locally).
      const issuer = new SessionIssuer(config);

      // Only a replica that mails opens the SMTP pool; it closes once the sender's last mails are out.
      let sender: MailSender | undefined;
      if (config.MAIL_SENDER_ENABLED) {
        const smtp = smtpMailerFor(config);
        const mailer = opts.wrapMailer ? opts.wrapMailer(smtp) : smtp;
        sender = new MailSender({
          ...mailSenderSettings(config),
          repository,
          signIns,
          signInRules: signInRules(config),
          bucket,
          mailer,
          cipher,
          hasher,
          signInHasher,
          logger: app.log,
          metrics: m.sender,
          onEnqueued,
        });
        await app.register(workerPlugin, { name: 'mail-sender', worker: sender, close: () => mailer.close() });
      }

      await app.register(emailVerificationRoutes, {
        repository,
        hasher,
        rules: verificationRules(config),
        now: () => new Date(),
        onEnqueued,
        onQueued: () => sender?.wake(),
        onConfirm: m.confirm,
        bucket,
        confirmBucket: confirmBucket(config),
        issuer,
      });
      await app.register(sessionRoutes, {
        signIns,
        signInHasher,
        // The intake's blind index of the normalised address (verifications.email_index).
        emailIndex: (email) => cipher.blindIndex('email', email),
        signInRules: signInRules(config),
        now: () => new Date(),
        issuer,
        bucket,
        signInBucket: signInBucket(config),
        onQueued: () => sender?.wake(),
        onSignIn: m.signIn,
      });

      if (config.CONSUMER_ENABLED) {
        await app.register(consumersPlugin, {
          readiness: 'consumers',
          startAt: opts.consumerStartAt ?? config.CONSUMER_START_AT,
          maxAttempts: config.CONSUMER_MAX_ATTEMPTS,
          consumers: [
            submittedConsumer({
              group: config.CONSUMER_GROUP,
              cipher,
              repository,
              onStored: (batch) => {
                m.consumed(batch);
                if (batch.stored + batch.notices > 0) sender?.wake();
              },
            }),
            // The projector's verdicts (decision 0024): stored → the code is mailed; rejected → the notice, once.
            statusChangedConsumer({
              group: `${config.CONSUMER_GROUP}-status`,
              repository,
              onAdmitted: (count) => {
                if (count > 0) sender?.wake();
              },
              onNoticed: (count) => {
                m.lateNotices(count);
                if (count > 0) sender?.wake();
              },
            }),
          ],
        });
      }
    },
  );
}
