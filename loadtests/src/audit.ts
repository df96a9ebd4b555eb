import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { REGISTRATION_SUBMITTED_V1 } from '@gelombang/contracts';
import { PiiCipher, readTopic, withKafkaAdmin, type Kafka } from '@gelombang/platform';
import { SCHEMA_RE, waitForProjector, type Infra } from './intake-process';
import { endOffsets, newKafka, type Offsets } from './kafka';
import type { Outcomes } from './registration-load';

/*
 * No-loss audit. After a run: every registrationId answered 202 must be a row in <schema>.registrations
 * and appear exactly once on registration.submitted.v1 between the offsets recorded before the run and
 * the end offsets after it. With the intake's blind-index key, it also checks that no refused request
 * (4xx answer) was published or written (events and rows carry HMAC indexes of the NIK, never the NIK),
 * and counts how many uncertain ones (5xx, no answer) were.
 */

export interface AuditOptions {
  infra: Infra;
  pgSchema: string;
  startOffsets: Offsets;
  outcomes: Outcomes;
  /** PII_INDEX_KEY of the intake under test; without it the refused-request checks are skipped. */
  indexKey?: Buffer;
  /** The intake's projector group: the audit waits for it to reach the end of the topic first. */
  consumerGroup?: string;
  /** The intake's registration.submitted.v1 (with its KAFKA_TOPIC_PREFIX; the shared topic by default). */
  topic?: string;
  runId: string;
  catchUpTimeoutMs?: number;
}

export interface AuditResult {
  accepted: number;
  inPostgres: number;
  missingInPostgres: number;
  /** Accepted, yet projected as rejected_duplicate (only possible if two applicants shared a NIK/email). */
  storedAsDuplicate: number;
  onKafka: number;
  missingOnKafka: number;
  /** Copies beyond the first of an accepted registrationId on the topic. */
  duplicatedOnKafka: number;
  /** Accepted ids missing from PostgreSQL or from Kafka. */
  lost: number;
  refused: number;
  refusedButPublished: number | null;
  refusedButWritten: number | null;
  /** Answered 5xx or not at all: either outcome is allowed, these counts only describe what happened. */
  uncertain: number;
  uncertainPublished: number | null;
  uncertainWritten: number | null;
  scannedMessages: number;
  kafkaScanComplete: boolean;
  projectorLagAtCount: number | null;
  waitedMs: number;
  sampleMissing: string[];
}

const log = (line: string) => process.stderr.write(`[audit] ${line}\n`);

export async function audit(o: AuditOptions): Promise<AuditResult> {
  if (!SCHEMA_RE.test(o.pgSchema)) throw new Error(`odd schema name ${o.pgSchema}`);
  const started = Date.now();
  const timeoutMs = o.catchUpTimeoutMs ?? 180_000;
  const kafka = newKafka(o.infra.brokers, 'loadtests-audit');
  const topic = o.topic ?? REGISTRATION_SUBMITTED_V1;
  const ends = await withKafkaAdmin(kafka, (admin) => endOffsets(admin, topic));

  const cipher = o.indexKey ? new PiiCipher({ k1: randomBytes(32) }, 'k1', o.indexKey) : undefined;
  const indexOf = (niks: string[]) => new Set(cipher ? niks.map((n) => cipher.blindIndex('nik', n)) : []);
  const refusedIdx = indexOf(o.outcomes.refusedNiks);
  const uncertainIdx = indexOf(o.outcomes.uncertainNiks);

  // Kafka first: the projector keeps catching up meanwhile.
  const seen = new Map<string, number>(o.outcomes.accepted.map((id) => [id, 0]));
  const refusedPublished = new Set<string>();
  const uncertainPublished = new Set<string>();
  const scan = await scanTopic(kafka, topic, o.runId, o.startOffsets, ends, Math.max(30_000, timeoutMs / 2), (key, value) => {
    const n = key === null ? undefined : seen.get(key);
    if (n !== undefined) return void seen.set(key as string, n + 1);
    if (!cipher) return;
    let nikIndex: string | undefined;
    try {
      nikIndex = (JSON.parse(value) as { data?: { blindIndex?: { nik?: string } } }).data?.blindIndex?.nik;
    } catch {
      return;
    }
    if (nikIndex && refusedIdx.has(nikIndex)) refusedPublished.add(nikIndex);
    if (nikIndex && uncertainIdx.has(nikIndex)) uncertainPublished.add(nikIndex);
  });
  log(`scanned ${scan.scanned} messages${scan.complete ? '' : ' (INCOMPLETE: timed out)'}`);

  let lag: number | null = null;
  if (o.consumerGroup) {
    lag = await waitForProjector(o.infra.brokers, o.consumerGroup, Math.max(10_000, timeoutMs - (Date.now() - started)), topic);
    log(`projector lag ${lag}`);
  }
  const db = new pg.Client({ connectionString: o.infra.databaseUrl });
  await db.connect();
  try {
    const ids = o.outcomes.accepted;
    const rows = await waitForRows(db, o.pgSchema, ids, started + timeoutMs);
    const countByIndex = async (idx: Set<string>) =>
      cipher
        ? Number(
            (await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${o.pgSchema}.registrations WHERE nik_index = ANY($1::text[])`, [[...idx]])).rows[0]?.n ??
              0,
          )
        : null;
    let onKafka = 0;
    let duplicatedOnKafka = 0;
    const missing: string[] = [];
    for (const [id, n] of seen) {
      if (n > 0) onKafka++;
      if (n > 1) duplicatedOnKafka += n - 1;
      if (n === 0 || !rows.has(id)) missing.push(id);
    }
    return {
      accepted: ids.length,
      inPostgres: rows.size,
      missingInPostgres: ids.length - rows.size,
      storedAsDuplicate: [...rows.values()].filter((s) => s === 'rejected_duplicate').length,
      onKafka,
      missingOnKafka: ids.length - onKafka,
      duplicatedOnKafka,
      lost: missing.length,
      refused: o.outcomes.refusedNiks.length,
      refusedButPublished: cipher ? refusedPublished.size : null,
      refusedButWritten: await countByIndex(refusedIdx),
      uncertain: o.outcomes.uncertainNiks.length,
      uncertainPublished: cipher ? uncertainPublished.size : null,
      uncertainWritten: await countByIndex(uncertainIdx),
      scannedMessages: scan.scanned,
      kafkaScanComplete: scan.complete,
      projectorLagAtCount: lag,
      waitedMs: Date.now() - started,
      sampleMissing: missing.slice(0, 10),
    };
  } finally {
    await db.end();
  }
}

/** Polls until every accepted id has a row, progress stops for 30 s, or the deadline; returns id → status. */
async function waitForRows(db: pg.Client, schema: string, ids: string[], deadline: number): Promise<Map<string, string>> {
  const count = async () =>
    Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.registrations WHERE registration_id = ANY($1::uuid[])`, [ids])).rows[0]?.n ?? 0);
  let n = await count();
  let progressAt = Date.now();
  while (n < ids.length && Date.now() < deadline && Date.now() - progressAt < 30_000) {
    await sleep(1_000);
    const m = await count();
    if (m > n) progressAt = Date.now();
    n = m;
    log(`projected ${n}/${ids.length}`);
  }
  const rows = await db.query<{ id: string; status: string }>(
    `SELECT registration_id::text AS id, status FROM ${schema}.registrations WHERE registration_id = ANY($1::uuid[])`,
    [ids],
  );
  return new Map(rows.rows.map((r) => [r.id, r.status]));
}

/** Reads [start, end) of every partition with a throwaway group (deleted afterwards), bounded in time. */
async function scanTopic(
  kafka: Kafka,
  topic: string,
  runId: string,
  start: Offsets,
  end: Offsets,
  timeoutMs: number,
  onMessage: (key: string | null, value: string) => void,
): Promise<{ scanned: number; complete: boolean }> {
  const groupId = `loadtests-audit-${runId}-${randomBytes(3).toString('hex')}`;
  const { read, complete } = await readTopic(kafka, topic, { from: start, to: end, timeoutMs, groupId }, (m) => onMessage(m.key, m.value));
  return { scanned: read, complete };
}
