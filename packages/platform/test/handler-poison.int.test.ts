import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { DEADLETTER_V1, makeEvent } from '@gelombang/contracts';
import { logStream, startPrivatePostgres, testTopic, TopicTap, uniqueId, type PrivatePostgres, type TestTopic } from '@gelombang/testkit';
import { baseEnv, consumersPlugin, createService, eventConsumer, kafkaPlugin, loadConfig, postgresPlugin, type App } from '@gelombang/platform';

/*
 * Messages that pass their (deliberately loose) contract but that PostgreSQL refuses — a NUL character
 * in a string, an id that is not a UUID — used to be retried forever and stall their partition. Now a
 * message the handler keeps refusing is dead-lettered after CONSUMER_MAX_ATTEMPTS tries, with the
 * reason, and the messages after it are handled. A database outage, by contrast, is waited out and
 * dead-letters nothing. A real topic, a real consumer group, a private PostgreSQL.
 */
describe('a consumer whose handler keeps refusing a message (real topic, private PostgreSQL)', () => {
  let pgServer: PrivatePostgres;
  let t: TestTopic;
  let deadLetters: TopicTap;
  let app: App;
  const group = `poison-test-${uniqueId()}`;
  const migrationsDir = mkdtempSync(join(tmpdir(), 'poison-test-'));
  writeFileSync(join(migrationsDir, '0001_notes.sql'), 'CREATE TABLE notes (registration_id uuid PRIMARY KEY, note text NOT NULL);');
  const loose = z.object({ registrationId: z.string(), note: z.string() });

  beforeAll(async () => {
    pgServer = await startPrivatePostgres();
    t = await testTopic('poison', 1);
    deadLetters = await new TopicTap([DEADLETTER_V1]).start();
    const contract = { topic: t.topic, schema: z.object({ id: z.string(), data: loose }) };
    const config = {
      ...loadConfig(z.object({ ...baseEnv }), {
        HTTP_PORT: '0',
        LOG_LEVEL: 'warn',
        DATABASE_URL: pgServer.url,
        CONSUMER_MAX_ATTEMPTS: '3',
        PG_CONNECT_TIMEOUT_MS: '500',
      }),
      PG_SCHEMA: 'poison',
    };
    app = await createService(config, { service: 'poison-test', logStream }, async (a) => {
      await a.register(postgresPlugin, { config, migrationsDir });
      await a.register(kafkaPlugin, { config });
      await a.register(consumersPlugin, {
        readiness: 'consumers',
        startAt: 'end',
        maxAttempts: config.CONSUMER_MAX_ATTEMPTS,
        consumers: [
          eventConsumer(contract, {
            group,
            handle: async (events) => {
              // One statement for the batch: one bad row fails all of it, as in the services' projectors.
              await a.pg.query(
                `INSERT INTO notes (registration_id, note) SELECT x.id::uuid, x.note FROM jsonb_to_recordset($1::jsonb) AS x(id text, note text)
                 ON CONFLICT (registration_id) DO NOTHING`,
                [JSON.stringify(events.map((e) => ({ id: e.data.registrationId, note: e.data.note })))],
              );
            },
          }),
        ],
      });
    });
    await app.ready();
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await deadLetters?.stop();
    await t?.close();
    await pgServer?.destroy();
    rmSync(migrationsDir, { recursive: true, force: true });
  });

  const send = (registrationId: string, note: string) =>
    t.producer.publish({
      topic: t.topic,
      key: 'one-partition',
      value: JSON.stringify(makeEvent('test.note', 'urn:test', registrationId, { registrationId, note })),
    });
  const stored = async (ids: string[]) =>
    (await app.pg.query<{ id: string }>('SELECT registration_id::text AS id FROM notes WHERE registration_id = ANY($1::uuid[])', [ids])).rows
      .map((r) => r.id)
      .sort();
  const ours = () =>
    deadLetters.events<{ consumerGroup: string; reason: string; value: string; originalTopic: string }>(DEADLETTER_V1).filter((d) => d.consumerGroup === group);

  it('dead-letters a NUL character and a non-UUID id after CONSUMER_MAX_ATTEMPTS tries, with the reason, and handles the messages around them', async () => {
    const good = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    // In one partition, in this order: good, NUL, good, not-a-UUID, good, good.
    await send(good[0]!, 'fine');
    await send(randomUUID(), 'nul \u0000 inside');
    await send(good[1]!, 'fine');
    await send('not-a-uuid', 'fine');
    await send(good[2]!, 'fine');
    await send(good[3]!, 'fine');

    const deadline = Date.now() + 60_000;
    while ((ours().length < 2 || (await stored(good)).length < 4) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));

    expect(await stored(good)).toEqual([...good].sort());
    const letters = ours();
    expect(letters.map((d) => ({ topic: d.originalTopic, note: (JSON.parse(d.value) as { data: { note: string } }).data.note, reason: d.reason }))).toEqual([
      {
        topic: t.topic,
        note: 'nul \u0000 inside',
        reason: expect.stringMatching(/^handler refused it 3 times: error 22P05|^handler refused it 3 times: error 22021/),
      },
      { topic: t.topic, note: 'fine', reason: expect.stringMatching(/^handler refused it 3 times: error 22P02: invalid input syntax for type uuid: "…"/) },
    ]);
    // The reason never quotes the refused value.
    expect(letters.map((d) => d.reason).join('\n')).not.toContain('not-a-uuid');
    expect((await app.inject('/health/ready')).statusCode).toBe(200);
  });

  it('waits out a PostgreSQL outage without dead-lettering anything, then handles what arrived meanwhile', async () => {
    const before = ours().length;
    await pgServer.stop();
    const ids = [randomUUID(), randomUUID()];
    for (const id of ids) await send(id, 'during the outage');
    // Longer than CONSUMER_MAX_ATTEMPTS tries would take, were the outage counted.
    await new Promise((r) => setTimeout(r, 4_000));
    await pgServer.start();
    const deadline = Date.now() + 60_000;
    while ((await stored(ids).catch(() => [])).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await stored(ids)).toEqual([...ids].sort());
    expect(ours().length).toBe(before);
  });
});
