import type { LoggerOptions } from 'pino';

/** Personal-data field names, redacted wherever they appear in a logged object (two levels deep). */
export const PII_FIELDS = ['nik', 'email', 'phone', 'fullName', 'birthDate', 'birthPlace', 'kkNumber'] as const;

const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["idempotency-key"]',
  'req.body',
  'body',
  '*.body',
  ...PII_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]),
];

/**
 * pino options for every service. Redaction is the safety net; the first line of defence is
 * that request bodies and personal data are never passed to a log call.
 */
export function loggerOptions(service: string, level: string): LoggerOptions {
  return {
    level,
    base: { service },
    redact: { paths: redactPaths, censor: '[redacted]' },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ level: label }) },
  };
}
