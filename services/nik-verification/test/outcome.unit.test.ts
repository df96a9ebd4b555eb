import { nikRejectedV1, nikVerifiedV1, registrationStatusChangedV1 } from '@gelombang/contracts';
import { ALREADY_HELD, decide, decisionEvents } from '../src/domain/outcome';

const check = { registrationId: '0190f0e2-4c1a-7b3e-9d2a-1f2e3d4c5b6a', attempt: 2, nikIndex: 'abcdefghijklmnopqrstuvwxyz', provinceCode: '32' };
const at = new Date('2026-11-30T01:02:03.000Z');

describe('decide', () => {
  it('maps registry answers to decisions: typos are correctable, an inactive NIK is not', () => {
    expect(decide('MATCH')).toEqual({ state: 'verified' });
    expect(decide('NOT_FOUND')).toEqual({ state: 'rejected', reason: 'NIK_NOT_FOUND', correctable: true });
    expect(decide('DATA_MISMATCH')).toEqual({ state: 'rejected', reason: 'DATA_MISMATCH', correctable: true });
    expect(decide('INACTIVE')).toEqual({ state: 'rejected', reason: 'NIK_INACTIVE', correctable: false });
  });
});

describe('decisionEvents', () => {
  it('announces a verification with nik.verified.v1 and status nik_verified, keyed by registration', () => {
    const [fact, status] = decisionEvents(check, { state: 'verified' }, at);
    expect([fact!.topic, fact!.key, status!.topic, status!.key]).toEqual([
      'nik.verified.v1',
      check.registrationId,
      'registration.status-changed.v1',
      check.registrationId,
    ]);
    expect(nikVerifiedV1.parse(JSON.parse(fact!.value)).data).toEqual({ ...check, verifiedAt: at.toISOString() });
    expect(registrationStatusChangedV1.parse(JSON.parse(status!.value)).data).toEqual({
      registrationId: check.registrationId,
      status: 'nik_verified',
      attempt: 2,
      changedAt: at.toISOString(),
    });
  });

  it('announces a rejection with its reason, correctability and attempt', () => {
    const [fact, status] = decisionEvents(check, { state: 'rejected', reason: 'NIK_INACTIVE', correctable: false }, at);
    expect(nikRejectedV1.parse(JSON.parse(fact!.value)).data).toEqual({
      registrationId: check.registrationId,
      attempt: 2,
      reason: 'NIK_INACTIVE',
      correctable: false,
      rejectedAt: at.toISOString(),
    });
    expect(registrationStatusChangedV1.parse(JSON.parse(status!.value)).data).toEqual({
      registrationId: check.registrationId,
      status: 'nik_rejected',
      reason: 'NIK_INACTIVE',
      attempt: 2,
      changedAt: at.toISOString(),
    });
  });

  it('announces NIK_ALREADY_HELD (another registration holds the NIK) as a rejection that is not correctable', () => {
    const [fact, status] = decisionEvents(check, ALREADY_HELD, at);
    expect(nikRejectedV1.parse(JSON.parse(fact!.value)).data).toMatchObject({ reason: 'NIK_ALREADY_HELD', correctable: false, attempt: 2 });
    expect(registrationStatusChangedV1.parse(JSON.parse(status!.value)).data).toMatchObject({ status: 'nik_rejected', reason: 'NIK_ALREADY_HELD' });
  });
});
