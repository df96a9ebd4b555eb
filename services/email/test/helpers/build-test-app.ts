import { randomBytes, randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import {
  makeEvent,
  REGISTRATION_STATUS_CHANGED_V1,
  REGISTRATION_SUBMITTED_V1,
  registrationStatusChangedV1,
  registrationSubmittedV1,
  type RegistrationConflict,
  type RegistrationStatus,
  type RegistrationStatusChangedV1,
  type RegistrationSubmittedV1,
} from '@gelombang/contracts';
import { generateValidPerson } from '@gelombang/nik';
import { createKafka, EventProducer, maskEmail, PiiCipher, type App } from '@gelombang/platform';
import { isolatedEnv, testApp, waitFor, type MailDev, type MailDevEmail } from '@gelombang/testkit';
import { buildApp, type BuildOptions } from '../../src/app';
import { loadEmailConfig, type EmailConfig } from '../../src/config';

export interface TestEnv {
  schema: string;
  env: Record<string, string>;
  config: EmailConfig;
  cipher: PiiCipher;
}

/** Own schema, Redis prefix, consumer group and keys; `overrides` on top (e.g. MAIL_SMTP_URL). */
export function testEnv(overrides: Record<string, string> = {}): TestEnv {
  const base = isolatedEnv('email');
  const env = { ...base, CONSUMER_GROUP: `email-test-${base.PG_SCHEMA}`, CONSUMER_START_AT: 'end', ...overrides };
  const config = loadEmailConfig(env);
  return { schema: env.PG_SCHEMA, env, config, cipher: PiiCipher.fromConfig(config) };
}

/** The same keys and schema with other settings: a restart, or another replica. */
export function sameEnv(t: TestEnv, overrides: Record<string, string>): TestEnv {
  const env = { ...t.env, ...overrides };
  return { ...t, env, config: loadEmailConfig(env) };
}

export const buildTestApp = (t: TestEnv, opts: Pick<BuildOptions, 'wrapMailer'> = {}): Promise<App> => testApp(buildApp, t.config, opts);

export interface Person {
  nik: string;
  email: string;
  fullName: string;
  birthDate: string;
  phone: string;
}

export function person(overrides: Partial<Person> = {}): Person {
  const p = generateValidPerson(randomBytes(4).readUInt32BE(0), new Date('2026-11-30T00:00:00Z'));
  return {
    nik: p.nik,
    email: `sari.${randomUUID().slice(0, 8)}@example.co.id`,
    fullName: 'Sari Wulandari',
    birthDate: p.birthDate,
    phone: '+6281234567890',
    ...overrides,
  };
}

/** A registration.submitted.v1 event sealed with the test keys, as the intake builds it (with the conflict it met, if any). */
export function submittedEvent(cipher: PiiCipher, p: Person, registrationId: string = randomUUID(), conflict?: RegistrationConflict): RegistrationSubmittedV1 {
  const seal = (field: string, v: string) => cipher.encrypt(v, field);
  const email = p.email.toLowerCase();
  return registrationSubmittedV1.parse(
    makeEvent('id.gelombang.registration.submitted.v1', 'urn:gelombang:intake', registrationId, {
      registrationId,
      submittedAt: new Date().toISOString(),
      pii: {
        nik: seal('nik', p.nik),
        email: seal('email', email),
        phone: seal('phone', p.phone),
        fullName: seal('fullName', p.fullName),
        birthDate: seal('birthDate', p.birthDate),
      },
      blindIndex: { nik: cipher.blindIndex('nik', p.nik), email: cipher.blindIndex('email', email) },
      emailMasked: maskEmail(email),
      provinceCode: p.nik.slice(0, 2),
      ...(conflict ? { conflict } : {}),
    }),
  );
}

/** A registration.status-changed.v1 event as the intake announces a status (e.g. rejected_duplicate, NIK_HELD). */
export const statusEvent = (registrationId: string, status: RegistrationStatus, reason?: string): RegistrationStatusChangedV1 =>
  registrationStatusChangedV1.parse(
    makeEvent('id.gelombang.registration.status-changed.v1', 'urn:gelombang:intake', registrationId, {
      registrationId,
      status,
      ...(reason ? { reason } : {}),
      changedAt: new Date().toISOString(),
    }),
  );

/** Publishes to the real registration.submitted.v1 (and status-changed) topics, as the intake does (acks=all). */
export class SubmittedPublisher {
  private readonly producer = new EventProducer(
    createKafka({ brokers: (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(','), clientId: 'email-test', logger: pino({ level: 'silent' }) }),
    {
      ackTimeoutMs: 10_000,
    },
  );

  async connect(): Promise<this> {
    await this.producer.connect();
    return this;
  }

  /**
   * Submissions, each with the verdict the intake's projector announces for it (decision 0024: the
   * email service mails nobody the projector has not decided about): stored (pending_email_verification),
   * or, for one the intake accepted with a conflict, rejected_duplicate with that reason.
   */
  async publish(...events: RegistrationSubmittedV1[]): Promise<void> {
    await this.publishUndecided(...events);
    await this.publishStatus(
      ...events.map((e) =>
        e.data.conflict
          ? statusEvent(e.data.registrationId, 'rejected_duplicate', e.data.conflict)
          : statusEvent(e.data.registrationId, 'pending_email_verification'),
      ),
    );
  }

  /** Submissions only, as the intake publishes them: the projector's verdicts are the test's to publish. */
  async publishUndecided(...events: RegistrationSubmittedV1[]): Promise<void> {
    await Promise.all(events.map((e) => this.producer.publish({ topic: REGISTRATION_SUBMITTED_V1, key: e.data.registrationId, value: JSON.stringify(e) })));
  }

  async publishStatus(...events: RegistrationStatusChangedV1[]): Promise<void> {
    await Promise.all(
      events.map((e) => this.producer.publish({ topic: REGISTRATION_STATUS_CHANGED_V1, key: e.data.registrationId, value: JSON.stringify(e) })),
    );
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}

/** The code from a mail's body (never its subject), which says it twice, in Indonesian and English: both must agree. */
export const codeOf = (mail: { text?: string }): string => {
  const codes = [...(mail.text ?? '').matchAll(/: (\d{6})\r?$/gm)].map((m) => m[1]!);
  if (codes.length !== 2 || codes[0] !== codes[1]) throw new Error(`not a code mail: ${codes.length} code line(s)`);
  return codes[0]!;
};

/** The claims of a session token (read, not verified: the routes under test verify it). */
export const jwtClaims = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());

/** A counter's value from /metrics (0 when absent). */
export async function metric(app: App, name: string, labels = ''): Promise<number> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const re = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm');
  let sum = 0;
  for (const m of text.matchAll(re)) if (m[1]!.includes(labels)) sum += Number(m[2]);
  return sum;
}

/** An answer of `app.inject`. */
export type Answer = LightMyRequestResponse;

/**
 * An answer with what differs between any two registrations blanked out — their ids, the times, the
 * masked address — and nothing else: the status, the headers that could tell them apart (Retry-After
 * only as present or not: it is a time) and the body, byte for byte.
 */
export function answerShape(r: Answer, ids: string[]) {
  let body = r.body;
  for (const id of ids) body = body.replaceAll(id, '<id>');
  body = body.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, '<time>').replace(/"emailMasked":"[^"]*"/g, '"emailMasked":"<masked>"');
  return {
    statusCode: r.statusCode,
    contentType: r.headers['content-type'],
    contentLength: r.headers['content-length'],
    retryAfter: r.headers['retry-after'] === undefined ? 'absent' : 'present',
    setCookie: r.headers['set-cookie'],
    body,
  };
}

/** The mails MailDev has received for `address`, once there are at least `count`. */
export const mailsTo = (maildev: MailDev, address: string, count = 1): Promise<MailDevEmail[]> =>
  waitFor(
    async () => {
      const found = await maildev.emailsTo(address);
      return found.length >= count ? found : undefined;
    },
    20_000,
    `${count} mail(s)`,
  );
