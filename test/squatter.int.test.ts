/**
 * Issue #13, acceptance 1, through every service's front door on the real Kafka, PostgreSQL, Redis,
 * MailDev and the registry stand-in: a squatter who registers a victim's NIK with a made-up name (and
 * even verifies their own email) does not stop the victim, who registers, verifies, is matched by the
 * registry and enrolls; the squatter's registration ends rejected_duplicate.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { generateValidPerson } from '@gelombang/nik';
import type { App } from '@gelombang/platform';
import { startMailDev, testPiiEnv, waitFor, type MailDev } from '@gelombang/testkit';
import { buildTestApp as buildIntake, testEnv as intakeEnv } from '../services/intake/test/helpers/build-test-app';
import { buildTestApp as buildEmail, codeOf, testEnv as emailEnv } from '../services/email/test/helpers/build-test-app';
import { buildTestApp as buildNik, startSim, testEnv as nikEnv, type Sim } from '../services/nik-verification/test/helpers/build-test-app';
import { batchBody, buildTestApp as buildEnrollment, testEnv as enrollmentEnv } from '../services/enrollment/test/helpers/build-test-app';
import { dropSchema } from '@gelombang/testkit';

jest.setTimeout(180_000);

describe('a NIK squatter does not stop its owner (the whole funnel)', () => {
  const pii = testPiiEnv(); // one deployment: every service opens what the others sealed
  const it_ = { intake: intakeEnv({ ...pii, CONSUMER_START_AT: 'end' }) };
  let mail: MailDev;
  let sim: Sim;
  let intake: App;
  let email: App;
  let nik: App;
  let enrollment: App;
  let enrollmentT: ReturnType<typeof enrollmentEnv>;
  const schemas: string[] = [];

  beforeAll(async () => {
    [mail, sim] = await Promise.all([startMailDev(), startSim()]);
    const emailT = emailEnv({ ...pii, MAIL_SMTP_URL: mail.smtpUrl, MAIL_POLL_MS: '100' });
    const nikT = nikEnv({ ...pii, REGISTRY_URL: sim.url });
    enrollmentT = enrollmentEnv({ ...pii });
    schemas.push(it_.intake.schema, emailT.schema, nikT.schema, enrollmentT.schema);
    [intake, email, nik, enrollment] = await Promise.all([buildIntake(it_.intake), buildEmail(emailT), buildNik(nikT), buildEnrollment(enrollmentT)]);
  });
  afterAll(async () => {
    await Promise.all([intake, email, nik, enrollment].map((a) => a?.close()));
    await Promise.all([mail?.stop(), sim?.close()]);
    for (const s of schemas) await dropSchema(s);
  });

  const register = async (body: object) => {
    const res = await intake.inject({ method: 'POST', url: '/v1/registrations', payload: body });
    expect(res.statusCode).toBe(202);
    return res.json<{ registrationId: string }>().registrationId;
  };
  /** Reads the code mailed to `address` and confirms it: the applicant's session. */
  const confirm = async (registrationId: string, address: string) => {
    const message = await waitFor(async () => (await mail.emailsTo(address))[0], 30_000, `the code mail to ${address}`);
    const res = await email.inject({ method: 'POST', url: `/v1/email-verifications/${registrationId}/confirm`, payload: { code: codeOf(message) } });
    expect(res.statusCode).toBe(200);
    return res.json<{ session: { token: string } }>().session.token;
  };
  const statusOf = async (registrationId: string, token: string) =>
    (await intake.inject({ method: 'GET', url: `/v1/registrations/${registrationId}`, headers: { authorization: `Bearer ${token}` } })).json<{
      status: string;
    }>().status;
  const eventually = (registrationId: string, token: string, status: string) =>
    waitFor(async () => ((await statusOf(registrationId, token)) === status ? true : undefined), 60_000, `${registrationId} ${status}`);

  it("the owner registers after the squatter, is matched and enrolls; the squatter's registration ends rejected_duplicate", async () => {
    const owner = generateValidPerson(randomBytes(4).readUInt32BE(0), new Date('2026-11-30T00:00:00Z'));
    const fullName = 'Dewi Lestari';
    await sim.load([{ nik: owner.nik, fullName, birthDate: owner.birthDate }]);
    const tag = randomUUID().slice(0, 8);

    // The squatter knows the NIK (it encodes the birth date), makes up a name, and verifies a throwaway address.
    const squatterEmail = `squat.${tag}@example.co.id`;
    const squatter = await register({ fullName: 'Nama Karangan', nik: owner.nik, birthDate: owner.birthDate, email: squatterEmail, phone: '081200000001' });
    const squatterToken = await confirm(squatter, squatterEmail);
    await eventually(squatter, squatterToken, 'nik_rejected'); // the registry: DATA_MISMATCH

    // The owner is not refused: the same 202 as anyone's.
    const ownerEmail = `dewi.${tag}@example.co.id`;
    const mine = await register({ fullName, nik: owner.nik, birthDate: owner.birthDate, email: ownerEmail, phone: '081200000002' });
    const ownerToken = await confirm(mine, ownerEmail);
    await eventually(mine, ownerToken, 'nik_verified');

    // The owner holds the NIK now: the squatter's registration ends rejected_duplicate.
    await eventually(squatter, squatterToken, 'rejected_duplicate');

    const batch = batchBody({ quota: 5 });
    const created = await enrollment.inject({
      method: 'POST',
      url: '/v1/admin/batches',
      payload: batch,
      headers: { authorization: `Bearer ${enrollmentT.adminToken}` },
    });
    expect(created.statusCode).toBe(201);
    const enrolled = await waitFor(
      async () => {
        const res = await enrollment.inject({
          method: 'POST',
          url: '/v1/enrollments',
          payload: { registrationId: mine, batchId: batch.batchId },
          headers: { authorization: `Bearer ${ownerToken}` },
        });
        return res.statusCode === 201 ? res : undefined; // 403 ENROLLMENT_NOT_ELIGIBLE until nik.verified.v1 is consumed
      },
      30_000,
      'the owner enrolled',
    );
    expect(enrolled.json()).toMatchObject({ registrationId: mine, batchId: batch.batchId });
    await eventually(mine, ownerToken, 'enrolled');
    // The squatter's session opens nothing of the owner's.
    const theirs = await enrollment.inject({ method: 'GET', url: `/v1/enrollments/${mine}`, headers: { authorization: `Bearer ${squatterToken}` } });
    expect(theirs.statusCode).toBe(403);
  });
});
