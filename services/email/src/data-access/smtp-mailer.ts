import { createTransport } from 'nodemailer';
import type { EmailConfig } from '../config';

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  /** Resolves once the provider accepted the message (SMTP 250 after DATA). */
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/** An SMTP error as it may be logged: codes only, never the message (it can quote the recipient). */
export function smtpErrorFields(err: unknown): Record<string, unknown> {
  const e = err as { name?: string; code?: string; responseCode?: number; command?: string };
  return { errName: e?.name, errCode: e?.code, responseCode: e?.responseCode, smtpCommand: e?.command };
}

/**
 * Pooled SMTP (nodemailer). `maxRequeues: 0`: the pool would otherwise resend a message by itself when
 * a connection drops mid-send, outside our quota; a failed send comes back to us and is retried
 * through the token bucket like any other mail.
 */
export function smtpMailer(opts: { url: string; from: string; maxConnections: number; timeoutMs: number }): Mailer {
  const transport = createTransport(
    {
      url: opts.url,
      pool: true,
      maxConnections: opts.maxConnections,
      maxRequeues: 0,
      connectionTimeout: opts.timeoutMs,
      greetingTimeout: opts.timeoutMs,
      socketTimeout: opts.timeoutMs,
      disableFileAccess: true,
      disableUrlAccess: true,
      logger: false,
    },
    { from: opts.from },
  );
  return {
    async send(mail) {
      await transport.sendMail({ to: mail.to, subject: mail.subject, text: mail.text });
    },
    close: () => transport.close(),
  };
}

/** The provider's pooled SMTP client, from the settings. */
export const smtpMailerFor = (c: Pick<EmailConfig, 'MAIL_SMTP_URL' | 'MAIL_FROM' | 'MAIL_CONCURRENCY' | 'MAIL_SMTP_TIMEOUT_MS'>): Mailer =>
  smtpMailer({ url: c.MAIL_SMTP_URL, from: c.MAIL_FROM, maxConnections: c.MAIL_CONCURRENCY, timeoutMs: c.MAIL_SMTP_TIMEOUT_MS });
