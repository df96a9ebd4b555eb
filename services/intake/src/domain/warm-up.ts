import { generateValidPerson } from '@gelombang/nik';
import { makeEvent, newId, registrationRequest, type RegistrationRules } from '@gelombang/contracts';
import type { PiiCipher } from '@gelombang/platform';
import { buildSubmittedData, canonicalJson, EVENT_SOURCE } from './register';

/**
 * Runs the CPU part of a registration (validation, sealing, blind indexes, event JSON) on synthetic
 * people before the service reports ready. A cold process answered its first second of a 1,333/s surge
 * with p99 in the hundreds of ms (docs/capacity.md): V8 had not optimised these paths yet.
 */
export function warmUp(rules: RegistrationRules, cipher: PiiCipher, rounds: number): void {
  const schema = registrationRequest(rules);
  const today = rules.today();
  for (let i = 0; i < rounds; i++) {
    const p = generateValidPerson(i, today, { minAge: rules.minAge, maxAge: rules.maxAge });
    const body = { fullName: 'Warm Up', nik: p.nik, email: `warm${i}@example.invalid`, phone: '081234567890', birthDate: p.birthDate };
    const req = schema.parse(body);
    cipher.blindIndex('body', canonicalJson(body));
    const registrationId = newId();
    JSON.stringify(makeEvent('id.gelombang.registration.submitted.v1', EVENT_SOURCE, registrationId, buildSubmittedData(req, cipher, { registrationId, submittedAt: new Date().toISOString() })));
  }
}
