/*
 * Renders the partners' event documentation from the contracts: one JSON Schema per topic
 * (zod 4's z.toJSONSchema) and docs/events/asyncapi.yaml (AsyncAPI 3, Kafka bindings). The tests
 * compare the committed files with what this renders (`pnpm run events:docs` rewrites them).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import { CLOUDEVENTS_CONTENT_TYPE, DEADLETTER_V1, deadLetterV1, eventCatalog, sealed, type CatalogEntry } from '@gelombang/contracts';

export const EVENTS_DIR = join(__dirname, '..', '..', '..', 'docs', 'events');
export const SCHEMAS_DIR = join(EVENTS_DIR, 'schemas');
export const ASYNCAPI_FILE = join(EVENTS_DIR, 'asyncapi.yaml');
export const UPDATE_COMMAND = 'pnpm run events:docs';

/** Marks a sealed value in the JSON Schema (a partner without the key sees only ciphertext there). */
export const SEALED_KEYWORD = 'x-gelombang-sealed';

export type JsonSchema = Record<string, unknown>;

/**
 * A contract's JSON Schema. `io: 'input'` leaves objects open (no `additionalProperties: false`):
 * what a reader must accept, since later versions may add optional fields. Our schemas have no
 * transforms or defaults, so input and output are the same shapes.
 */
export function jsonSchemaOf(schema: z.ZodType, title: string, description: string): JsonSchema {
  const json = z.toJSONSchema(schema, {
    io: 'input',
    target: 'draft-2020-12',
    override: (ctx) => {
      if (ctx.zodSchema === sealed) {
        ctx.jsonSchema[SEALED_KEYWORD] = true;
        ctx.jsonSchema.description = 'Sealed personal data: AES-256-GCM, `v1.<keyId>.<iv>.<ciphertext>` (base64url), the field name as AAD.';
      }
    },
  }) as JsonSchema;
  const { $schema, ...rest } = json;
  return { $schema, title, description, ...rest };
}

/** The JSON Schema file of every topic: `<topic>.json` → its schema. */
export function renderSchemas(): Map<string, JsonSchema> {
  const files = new Map<string, JsonSchema>();
  for (const e of eventCatalog) {
    files.set(
      `${e.contract.topic}.json`,
      jsonSchemaOf(e.contract.schema, e.contract.type, `CloudEvents 1.0 structured envelope on ${e.contract.topic}. ${e.summary}`),
    );
  }
  files.set(
    `${DEADLETTER_V1}.json`,
    jsonSchemaOf(
      deadLetterV1,
      DEADLETTER_V1,
      'Not a CloudEvent of its own: a message a consumer group could not process, kept as received in `value`, with where it came from and why. The record carries the original Kafka headers.',
    ),
  );
  return files;
}

/** Dotted paths of the sealed fields in a schema (`data.pii.nik`). */
export function sealedPaths(schema: JsonSchema, at = ''): string[] {
  if (schema[SEALED_KEYWORD] === true) return [at];
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  return Object.entries(props).flatMap(([k, v]) => sealedPaths(v, at ? `${at}.${k}` : k));
}

/** `registration.submitted.v1` → `registrationSubmittedV1` (AsyncAPI component ids). */
const idOf = (topic: string) => topic.replace(/[.-](\w)/g, (_m, c: string) => c.toUpperCase());

/** Partition counts as the cluster creates them (infra/kafka/topics.txt). */
function partitions(): Map<string, number> {
  const text = readFileSync(join(__dirname, '..', '..', '..', 'infra', 'kafka', 'topics.txt'), 'utf8');
  return new Map(
    text
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean)
      .map((l) => l.split(/\s+/))
      .map(([t, n]) => [t!, Number(n)]),
  );
}

const RETENTION_MS = 7 * 24 * 3600 * 1000;
const BINDING = '0.5.0';

const kafkaChannel = (topic: string, n: Map<string, number>) => ({
  kafka: { topic, partitions: n.get(topic), topicConfiguration: { 'cleanup.policy': ['delete'], 'retention.ms': RETENTION_MS }, bindingVersion: BINDING },
});

function channelOf(e: CatalogEntry, schemas: Map<string, JsonSchema>, n: Map<string, number>) {
  const { topic, type } = e.contract;
  const id = idOf(topic);
  const sealedFields = sealedPaths(schemas.get(`${topic}.json`)!);
  const sealedNote = sealedFields.length
    ? ` Sealed fields (ciphertext without the key): ${sealedFields.map((f) => `\`${f}\``).join(', ')}.`
    : ' Carries no sealed personal data.';
  return {
    channel: {
      address: topic,
      title: topic,
      description: `${e.summary} Key: the registrationId (ordering is per registration).${sealedNote}`,
      messages: { [id]: { $ref: `#/components/messages/${id}` } },
      bindings: kafkaChannel(topic, n),
    },
    message: {
      name: type,
      title: topic,
      summary: e.summary,
      contentType: CLOUDEVENTS_CONTENT_TYPE,
      headers: { $ref: '#/components/schemas/cloudEventsKafkaHeaders' },
      payload: { $ref: `./schemas/${topic}.json` },
      'x-gelombang-sealed': sealedFields,
      bindings: { kafka: { key: { $ref: '#/components/schemas/registrationIdKey' }, bindingVersion: BINDING } },
    },
  };
}

/** docs/events/asyncapi.yaml as a YAML string. */
export function renderAsyncApi(schemas = renderSchemas()): string {
  const n = partitions();
  const channels: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  for (const e of eventCatalog) {
    const id = idOf(e.contract.topic);
    const { channel, message } = channelOf(e, schemas, n);
    channels[id] = channel;
    messages[id] = message;
    const ref = { $ref: `#/channels/${id}` };
    const msgRef = [{ $ref: `#/channels/${id}/messages/${id}` }];
    operations[`publish${id[0]!.toUpperCase()}${id.slice(1)}`] = {
      action: 'send',
      channel: ref,
      summary: `Published by ${e.publishedBy.join(', ')} (CloudEvents source urn:gelombang:<service>), acks=all.`,
      messages: msgRef,
    };
    for (const group of e.consumedBy) {
      operations[`${idOf(group)}Receives${id[0]!.toUpperCase()}${id.slice(1)}`] = {
        action: 'receive',
        channel: ref,
        summary: `Consumer group ${group} (ours; partners use their own group, see docs/partners.md).`,
        messages: msgRef,
        bindings: { kafka: { groupId: { type: 'string', enum: [group] }, bindingVersion: BINDING } },
      };
    }
  }
  const dl = idOf(DEADLETTER_V1);
  channels[dl] = {
    address: DEADLETTER_V1,
    title: DEADLETTER_V1,
    description:
      'Operators only: what a consumer group could not process, with the original message and its headers. `./gelombang deadletters replay` puts them back on their topics (docs/runbook.md).',
    messages: { [dl]: { $ref: `#/components/messages/${dl}` } },
    bindings: kafkaChannel(DEADLETTER_V1, n),
  };
  messages[dl] = {
    name: DEADLETTER_V1,
    title: DEADLETTER_V1,
    contentType: 'application/json',
    payload: { $ref: `./schemas/${DEADLETTER_V1}.json` },
    bindings: {
      kafka: {
        key: { type: 'string', description: "The original message's key, or `<topic>:<partition>:<offset>` when it had none." },
        bindingVersion: BINDING,
      },
    },
  };
  operations.deadLetter = {
    action: 'send',
    channel: { $ref: `#/channels/${dl}` },
    summary: 'Any of our consumer groups, for a message it cannot process (invalid, or sealed with a key it does not hold).',
    messages: [{ $ref: `#/channels/${dl}/messages/${dl}` }],
  };
  const doc = {
    asyncapi: '3.0.0',
    info: {
      title: 'Gelombang events',
      version: '1.0.0',
      description: [
        'The Kartu Prakerja registration funnel as events on Apache Kafka. Generated from @gelombang/contracts',
        `(\`${UPDATE_COMMAND}\`); do not edit by hand. Every event is a CloudEvents 1.0 structured-mode message`,
        "(CloudEvents' Kafka protocol binding): the value is the JSON envelope, the `content-type` header",
        '`application/cloudevents+json`, the key the registrationId. Delivery is at least once: deduplicate',
        'by the CloudEvents `id`. How to consume, what is sealed and the deprecation policy: docs/partners.md.',
      ].join(' '),
    },
    defaultContentType: CLOUDEVENTS_CONTENT_TYPE,
    servers: {
      local: {
        host: 'localhost:9092',
        protocol: 'kafka',
        description:
          'The development cluster (`./gelombang start`): one broker, replication 1. Production: three brokers, replication 3, min.insync.replicas 2.',
      },
    },
    channels,
    operations,
    components: {
      messages,
      schemas: {
        registrationIdKey: { type: 'string', format: 'uuid', description: 'The registrationId, also the CloudEvents `subject`.' },
        cloudEventsKafkaHeaders: {
          type: 'object',
          properties: { 'content-type': { type: 'string', const: CLOUDEVENTS_CONTENT_TYPE } },
          required: ['content-type'],
        },
      },
    },
  };
  return `# Generated from packages/contracts (${UPDATE_COMMAND}): do not edit by hand.\n${stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })}`;
}

export const schemaFileText = (schema: JsonSchema): string => `${JSON.stringify(schema, null, 2)}\n`;
