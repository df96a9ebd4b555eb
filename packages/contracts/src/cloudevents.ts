import { z } from 'zod';
import { v7 as uuidv7 } from 'uuid';

/** Time-ordered and unguessable (74 random bits): used for event and registration ids. */
export const newId = (): string => uuidv7();

/** The Kafka `content-type` header of every event (CloudEvents' Kafka binding, structured mode). */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json';

/** True when no string anywhere in `v` holds U+0000, which PostgreSQL text and jsonb refuse. */
function noNul(v: unknown): boolean {
  if (typeof v === 'string') return !v.includes('\u0000');
  if (Array.isArray(v)) return v.every(noNul);
  if (v && typeof v === 'object') return Object.values(v).every(noNul);
  return true;
}

/**
 * CloudEvents 1.0, structured JSON mode: the envelope every event on every topic carries. The id is a
 * UUID (every consumer stores it as one to deduplicate) and so is the subject (the registration), and
 * no string holds a NUL character: values that would pass a looser schema and then fail in every
 * consumer's database, over and over (issue #14), are refused here, where they are made.
 */
export function cloudEvent<T extends string, D extends z.ZodType>(type: T, data: D) {
  return z
    .object({
      specversion: z.literal('1.0'),
      id: z.uuid(),
      source: z.string().min(1),
      type: z.literal(type),
      subject: z.uuid(),
      time: z.iso.datetime({ offset: true }),
      datacontenttype: z.literal('application/json'),
      data,
    })
    .refine(noNul, { message: 'strings must not contain the NUL character (U+0000)' });
}

export interface CloudEvent<T extends string = string, D = unknown> {
  specversion: '1.0';
  id: string;
  source: string;
  type: T;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: D;
}

/** Every event here is about one registration: its id is the Kafka key and the CloudEvents subject. */
type AboutARegistration = z.ZodType<{ registrationId: string }>;

/**
 * One event type, as a partner reads it: the topic it is written to, its CloudEvents `type`, the schema
 * of its `data` and of the whole envelope. Publishing and consuming both go through it (eventBuilder,
 * the platform's consumers), so an event cannot leave or be read without being checked against it.
 */
export interface EventContract<T extends string = string, D extends AboutARegistration = AboutARegistration> {
  readonly topic: string;
  readonly type: T;
  readonly data: D;
  readonly schema: ReturnType<typeof cloudEvent<T, D>>;
}

export type EventData<C extends EventContract> = z.input<C['data']>;
export type EventOf<C extends EventContract> = z.output<C['schema']>;

export function defineEvent<T extends string, D extends AboutARegistration>(topic: string, type: T, data: D): EventContract<T, D> {
  return { topic, type, data, schema: cloudEvent(type, data) };
}

/** A checked event, ready for Kafka or for an outbox row: what both of them write. */
export interface EventMessage {
  topic: string;
  key: string;
  value: string;
  headers: Record<string, string>;
  /** The CloudEvents id (consumers deduplicate by it). */
  id: string;
}

export interface EventBuilder {
  /**
   * Builds the envelope around `data`, checks it against the contract (a bad event fails here, in the
   * service that made it, not in a consumer downstream) and returns the message: the contract's topic,
   * the registration id as key and subject. `id` for an event whose id must be known before it is sent.
   */
  message<C extends EventContract>(contract: C, data: EventData<C>, opts?: { id?: string }): EventMessage;
}

/** The one way to make an event: `source` names the service (`urn:gelombang:<service>`). */
export function eventBuilder(source: string): EventBuilder {
  return {
    message(contract, data, opts) {
      const subject = (data as { registrationId: string }).registrationId;
      const id = opts?.id ?? newId();
      const envelope = {
        specversion: '1.0',
        id,
        source,
        type: contract.type,
        subject,
        time: new Date().toISOString(),
        datacontenttype: 'application/json',
        data,
      };
      return {
        topic: contract.topic,
        key: subject,
        value: JSON.stringify(contract.schema.parse(envelope)),
        headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE },
        id,
      };
    },
  };
}

/** A test's or a tool's hand-made envelope (services use eventBuilder, which checks it). */
export function makeEvent<T extends string, D>(type: T, source: string, subject: string, data: D, id = newId()): CloudEvent<T, D> {
  return { specversion: '1.0', id, source, type, subject, time: new Date().toISOString(), datacontenttype: 'application/json', data };
}
