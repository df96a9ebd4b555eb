import { counter, scrapedGauge, type Registry } from '@gelombang/platform';
import type { MailSenderMetrics } from './workers/mail-sender';

/** The email service's own metrics (README: "Metrics"); `backlog` counts the mails owed at scrape time. */
export function emailMetrics(registry: Registry, backlog: () => Promise<number>) {
  const sent = counter(registry, 'email_mails_sent_total', 'Mails the provider accepted (verification and sign-in)');
  const notices = counter(registry, 'email_notices_sent_total', 'Notice mails the provider accepted (registrations that met a conflict), by kind', ['kind']);
  const failed = counter(registry, 'email_mail_send_failures_total', 'Mails the provider refused or could not take (retried later)');
  const quotaWaits = counter(registry, 'email_quota_waits_total', 'Times a mail waited for the provider quota, by reason', ['reason']);
  const confirms = counter(registry, 'email_confirms_total', 'POST …/confirm answers, by outcome', ['outcome']);
  const consumed = counter(registry, 'email_submissions_consumed_total', 'registration.submitted.v1 events, by outcome', ['outcome']);
  const lateNotices = counter(
    registry,
    'email_late_nik_held_notices_total',
    'Registrations rejected NIK_HELD after their submission (registration.status-changed.v1): codes killed, the NIK_HELD notice owed',
  );
  const published = counter(registry, 'email_events_published_total', 'Outbox rows published to Kafka');
  const signInRequests = counter(registry, 'email_sign_in_requests_total', 'POST /v1/sessions requests as the mail sender decided them, by outcome', [
    'outcome',
  ]);
  const signIns = counter(
    registry,
    'email_sign_ins_total',
    'Sign-in answers, by outcome: requested (POST /v1/sessions), signed_in, invalid, exhausted (…/verify), rate_limited (either)',
    ['outcome'],
  );
  scrapedGauge(registry, 'email_mail_backlog', 'Mails owed: due now, or waiting for a retry or a lease', async () => [{ value: await backlog() }]);
  return {
    sender: {
      sent: () => sent.inc(),
      noticeSent: (kind) => notices.inc({ kind }),
      failed: () => failed.inc(),
      quotaWait: (reason) => quotaWaits.inc({ reason }),
      signInRequest: (outcome) => signInRequests.inc({ outcome }),
    } satisfies MailSenderMetrics,
    signIn: (outcome: string) => signIns.inc({ outcome }),
    confirm: (outcome: string) => confirms.inc({ outcome }),
    consumed: (batch: { stored: number; notices: number; replays: number; waiting: number }) => {
      consumed.inc({ outcome: 'stored' }, batch.stored);
      consumed.inc({ outcome: 'notice' }, batch.notices);
      consumed.inc({ outcome: 'replay' }, batch.replays);
      // Stored, owing nothing until the intake's projector announces its verdict (decision 0024).
      consumed.inc({ outcome: 'awaiting_verdict' }, batch.waiting);
    },
    lateNotices: (n: number) => lateNotices.inc(n),
    published: (n: number) => published.inc(n),
  };
}

export type EmailMetrics = ReturnType<typeof emailMetrics>;
