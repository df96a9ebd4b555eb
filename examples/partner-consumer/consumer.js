#!/usr/bin/env node
/*
 * A partner's consumer of Gelombang's events (docs/partners.md): plain JavaScript, the official
 * CloudEvents SDK (`cloudevents`) over kafkajs, no Gelombang package. It
 *   - joins its own consumer group (partner.<organisation>.<purpose>), so it gets every event;
 *   - reads each message with the SDK's Kafka binding (structured mode: content-type
 *     application/cloudevents+json), replays from dead letters included;
 *   - deduplicates by the CloudEvents `id` (delivery is at least once);
 *   - keeps order per registration (the key) by handling a partition's messages one after another;
 *   - opens sealed personal data only if it was given a key (PARTNER_PII_KEYS), never printing it;
 *   - commits an offset only after the event was handled.
 * Each event becomes one JSON line on stdout: id, type, subject, topic, partition, offset, replayed,
 * and the names of the sealed fields it could open.
 *
 * Settings (environment):
 *   KAFKA_BROKERS     localhost:9092
 *   PARTNER_GROUP     partner.example.status
 *   PARTNER_TOPICS    registration.status-changed.v1,enrollment.enrolled.v1 (comma-separated)
 *   PARTNER_FROM      earliest | latest: where a new group starts (default earliest: all retained events)
 *   PARTNER_PII_KEYS  kid:base64key[,kid:base64key…] given to this partner, optional
 */
const { createDecipheriv } = require('node:crypto');
const { Kafka: KafkaBinding } = require('cloudevents');
const { Kafka, logLevel } = require('kafkajs');

/** A sealed value: `v1.<keyId>.<iv>.<ciphertext+tag>`, AES-256-GCM, base64url, the field name as AAD. */
const SEALED = /^v1\.([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;

/** `kid:base64,kid:base64` → Map(kid → 32-byte key). */
function parseKeys(text) {
  const keys = new Map();
  for (const part of (text ?? '').split(',').filter(Boolean)) {
    const [kid, b64] = part.split(':');
    const key = Buffer.from(b64 ?? '', 'base64');
    if (!kid || key.length !== 32) throw new Error(`PARTNER_PII_KEYS: "${kid}" is not kid:<32 bytes in base64>`);
    keys.set(kid, key);
  }
  return keys;
}

/** Opens one sealed field with the keys given; undefined when none of them is its key. */
function openSealed(value, field, keys) {
  const m = SEALED.exec(value);
  if (!m) throw new Error(`${field} is not a sealed value`);
  const key = keys.get(m[1]);
  if (!key) return undefined;
  const body = Buffer.from(m[3], 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(m[2], 'base64url'));
  decipher.setAAD(Buffer.from(field));
  decipher.setAuthTag(body.subarray(body.length - 16));
  return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString('utf8');
}

/** A kafkajs message as the CloudEvents SDK's Kafka binding reads it (headers as strings). */
function toCloudEvent(message) {
  const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, v?.toString() ?? '']));
  return KafkaBinding.toEvent({ key: message.key?.toString(), value: message.value?.toString(), headers, timestamp: message.timestamp });
}

/** What one event tells the partner: never a personal value, only which sealed fields it could open. */
function describe(event, where, keys) {
  const pii = (event.data && event.data.pii) || {};
  const opened = Object.entries(pii)
    .filter(([field, value]) => openSealed(value, field, keys) !== undefined)
    .map(([field]) => field);
  return { id: event.id, type: event.type, subject: event.subject, ...where, opened };
}

/** Remembers the last `size` ids; a production consumer keeps them in its database (a unique key on the id). */
function recentIds(size = 100_000) {
  const seen = new Set();
  return (id) => {
    if (seen.has(id)) return false;
    seen.add(id);
    if (seen.size > size) seen.delete(seen.values().next().value);
    return true;
  };
}

async function main() {
  const brokers = (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(',');
  const groupId = process.env.PARTNER_GROUP ?? 'partner.example.status';
  const topics = (process.env.PARTNER_TOPICS ?? 'registration.status-changed.v1,enrollment.enrolled.v1').split(',');
  const keys = parseKeys(process.env.PARTNER_PII_KEYS);
  const isNew = recentIds();
  const kafka = new Kafka({ clientId: groupId, brokers, logLevel: logLevel.WARN });
  const consumer = kafka.consumer({ groupId });
  const stop = async () => {
    await consumer.disconnect();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: (process.env.PARTNER_FROM ?? 'earliest') === 'earliest' });
  await consumer.run({
    // kafkajs hands one partition's messages over in order and commits after each handler resolved.
    eachMessage: async ({ topic, partition, message }) => {
      let event;
      try {
        event = toCloudEvent(message);
      } catch (e) {
        process.stderr.write(`${topic}:${partition}:${message.offset} is not a CloudEvent (${e.message}): skipped\n`);
        return;
      }
      if (!isNew(event.id)) return; // Seen before: at-least-once delivery, or a replay of one we had.
      const replayed = message.headers?.['x-gelombang-replayed-from'] !== undefined;
      process.stdout.write(`${JSON.stringify(describe(event, { topic, partition, offset: message.offset, replayed }, keys))}\n`);
    },
  });
  process.stderr.write(`consuming ${topics.join(', ')} as ${groupId}\n`);
}

module.exports = { openSealed, parseKeys, toCloudEvent, describe, recentIds };

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  });
}
