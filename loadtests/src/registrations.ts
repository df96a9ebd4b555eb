import { randomBytes, randomInt } from 'node:crypto';
import { calendarDateIn, generateValidPerson } from '@gelombang/nik';

export const REGISTRATIONS_PATH = '/v1/registrations';

const GIVEN = ['Budi', 'Siti', 'Agus', 'Dewi', 'Rudi', 'Sri', 'Andi', 'Rina', 'Joko', 'Putri', 'Eko', 'Wati'];
const FAMILY = ['Santoso', 'Wijaya', 'Saputra', 'Lestari', 'Hidayat', 'Kurniawan', 'Pratama', 'Sari', 'Nugroho', 'Rahayu'];

export interface Applicant {
  seed: number;
  nik: string;
  body: string;
  headers: Record<string, string>;
}

/** A short id for one load run: names emails, Redis prefixes, schemas, consumer groups. */
export const newRunId = () => randomBytes(4).toString('hex');

/**
 * First seed of a run: distinct seeds are distinct people (generateValidPerson), and a random base
 * keeps two runs against the same intake from reusing NIKs (two 80,000-people runs overlap with a
 * chance of about 4 in 100,000).
 */
export const randomSeedBase = () => randomInt(0, 2 ** 32 - 2 ** 24);

/*
 * Each simulated client gets its own address from 2001:db8::/32, the IPv6 documentation prefix: the
 * intake (HTTP_TRUST_PROXY=loopback) reads it from X-Forwarded-For as if many phones sat behind one
 * proxy. It is only a header value; every packet goes to the loopback target.
 */
export const clientAddress = (seed: number) => `2001:db8:${(seed >>> 16).toString(16)}:${(seed & 0xffff).toString(16)}::1`;

/** Registration `seed` of run `runId`: a valid, unique applicant, ready to POST. */
export function applicant(seed: number, runId: string, today = calendarDateIn(new Date())): Applicant {
  const person = generateValidPerson(seed, today);
  const body = JSON.stringify({
    fullName: `${GIVEN[seed % GIVEN.length]} ${FAMILY[Math.floor(seed / GIVEN.length) % FAMILY.length]}`,
    nik: person.nik,
    email: `p${seed}-${runId}@example.co.id`,
    phone: `0812${String(seed % 100_000_000).padStart(8, '0')}`,
    birthDate: person.birthDate,
  });
  return { seed, nik: person.nik, body, headers: { 'content-type': 'application/json', 'x-forwarded-for': clientAddress(seed) } };
}
