import { randomUUID } from 'node:crypto';
import { emailVerificationRequestedV1Event, eventBuilder, makeEvent, registrationStatusChangedV1Event } from '@gelombang/contracts';

/*
 * Values that pass a loose schema but that every consumer's PostgreSQL refuses (issue #14: they were
 * retried forever) are refused by the envelope itself: a non-UUID event id or subject, a NUL character
 * in any string.
 */
describe('the CloudEvents envelope of every contract', () => {
  const contract = registrationStatusChangedV1Event;
  const valid = () => {
    const registrationId = randomUUID();
    return makeEvent(contract.type, 'urn:gelombang:test', registrationId, { registrationId, status: 'email_verified', changedAt: new Date().toISOString() });
  };
  const issues = (value: unknown) => {
    const r = contract.schema.safeParse(value);
    return r.success ? [] : r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  };

  it('accepts an event as the services make it', () => {
    expect(issues(valid())).toEqual([]);
  });

  it('refuses an event id or subject that is not a UUID', () => {
    expect(issues({ ...valid(), id: 'evt-1' })).toEqual([{ path: 'id', message: 'Invalid UUID' }]);
    expect(issues({ ...valid(), subject: 'not-a-uuid' })).toEqual([{ path: 'subject', message: 'Invalid UUID' }]);
  });

  it('refuses a NUL character in any string, envelope or data, however deep', () => {
    const nul = 'urn:\u0000';
    expect(issues({ ...valid(), source: nul })).toEqual([{ path: '', message: 'strings must not contain the NUL character (U+0000)' }]);
    // emailMasked is any string to its own schema: the envelope's check still finds the NUL.
    const registrationId = randomUUID();
    const data = {
      registrationId,
      emailMasked: 'b***\u0000@example.co.id',
      sendCount: 1,
      sentAt: new Date().toISOString(),
      expiresAt: new Date().toISOString(),
    };
    const r = emailVerificationRequestedV1Event.schema.safeParse(makeEvent(emailVerificationRequestedV1Event.type, 'urn:gelombang:test', registrationId, data));
    expect(r.success ? [] : r.error.issues.map((i) => i.message)).toEqual(['strings must not contain the NUL character (U+0000)']);
  });

  it('so the one event builder cannot publish one either', () => {
    const events = eventBuilder('urn:gelombang:test');
    const registrationId = randomUUID();
    const data = { registrationId, emailMasked: 'b***@\u0000', sendCount: 1, sentAt: new Date().toISOString(), expiresAt: new Date().toISOString() };
    expect(() => events.message(emailVerificationRequestedV1Event, data)).toThrow(/NUL/);
  });
});
