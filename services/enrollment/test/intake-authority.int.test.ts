import pg from 'pg';
import type { App } from '@gelombang/platform';
import { asApplicant, dropSchema, waitFor } from '@gelombang/testkit';
import { buildTestApp, connectDb, createBatch, enrollBody, makeEligible, person, testEnv, VerifiedPublisher, type TestEnv } from './helpers/build-test-app';

/**
 * Decision 0024: which registrations exist is the intake projector's decision. A registration it
 * rejected or expired may not enroll, whatever the NIK check said, and whichever event came first.
 */
describe('enrollment follows the intake projector (real Kafka, PostgreSQL, Redis)', () => {
  let t: TestEnv;
  let app: App;
  let db: pg.Client;
  let publisher: VerifiedPublisher;

  beforeAll(async () => {
    t = testEnv();
    [app, db] = await Promise.all([buildTestApp(t), connectDb()]);
    publisher = new VerifiedPublisher();
    await publisher.connect();
  });
  afterAll(async () => {
    await app?.close();
    await Promise.allSettled([publisher?.close(), db?.end()]);
    await dropSchema(t.schema);
  });

  const rejected = (registrationId: string) =>
    waitFor(
      async () => ((await db.query(`SELECT 1 FROM ${t.schema}.intake_rejections WHERE registration_id = $1`, [registrationId])).rowCount ? true : undefined),
      30_000,
      'the rejection recorded',
    );
  const enroll = (p: ReturnType<typeof person>, batchId: string) =>
    app.inject({ method: 'POST', url: '/v1/enrollments', payload: enrollBody(p, batchId), headers: asApplicant(p.registrationId) });

  it('refuses a registration the intake rejected, whether the rejection came after the NIK match or before it; the kept one enrolls', async () => {
    const batchId = await createBatch(app, t, { quota: 5 });
    const [late, early, kept] = [person(), person(), person()];
    await makeEligible(publisher, db, t.schema, [late, kept]);
    await publisher.publishStatus(late.registrationId, 'rejected_duplicate', 'DUPLICATE_NIK_OR_EMAIL');
    await publisher.publishStatus(early.registrationId, 'expired', 'EMAIL_NOT_VERIFIED');
    await Promise.all([rejected(late.registrationId), rejected(early.registrationId)]);
    await makeEligible(publisher, db, t.schema, [early]);

    for (const p of [late, early]) {
      const r = await enroll(p, batchId);
      expect([r.statusCode, r.json().code]).toEqual([403, 'ENROLLMENT_NOT_ELIGIBLE']);
    }
    expect((await enroll(kept, batchId)).statusCode).toBe(201);
    const seats = await db.query(`SELECT registration_id FROM ${t.schema}.enrollments WHERE batch_id = $1`, [batchId]);
    expect(seats.rows).toEqual([{ registration_id: kept.registrationId }]);
  });
});
