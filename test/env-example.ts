import { baseEnv, piiEnv, sessionVerifyEnv } from '@gelombang/platform';
import { emailEnv } from '../services/email/src/config';
import { enrollmentEnv } from '../services/enrollment/src/config';
import { intakeEnv } from '../services/intake/src/config';
import { nikEnv } from '../services/nik-verification/src/config';
import { registrySimEnv } from '../services/registry-sim/src/config';
import { edgeEnv } from '../services/edge/src/config';

/*
 * Renders .env.example from the services' zod schemas: each key's description, default and allowed
 * values are the ones its schema declares, so the file cannot say something the services do not do.
 * It lives beside the root tests because only the root sees every service (a package importing the
 * services would turn the layering upside down) and because jest is how the repository runs
 * TypeScript: env-example.unit.test.ts compares the rendering with the committed file, and rewrites
 * the file under UPDATE_ENV_EXAMPLE=1 (`pnpm run config:env-example`).
 */

/** What the renderer reads of a zod 4 schema (the root has no zod of its own: the services' instances are used). */
interface EnvField {
  toJSONSchema(params: { io: 'input'; unrepresentable: 'any' }): { description?: string; default?: unknown; enum?: Array<string | number | boolean | null> };
  safeParse(value: undefined): { success: boolean };
}

export interface EnvSection {
  title: string;
  /** Where the keys are declared. */
  source: string;
  keys: Record<string, EnvField>;
}

/** Keys several services take from packages/platform, each section listing every key once. */
export const SHARED_SECTIONS: EnvSection[] = [
  { title: 'Shared by every service', source: 'packages/platform/src/config.ts, baseEnv', keys: baseEnv },
  { title: 'Personal data', source: 'packages/platform/src/config.ts, piiEnv', keys: piiEnv },
  { title: 'Applicant sessions', source: 'packages/platform/src/session.ts, sessionVerifyEnv', keys: sessionVerifyEnv },
];

/** Every service's whole schema; its section lists only what it adds to or changes in the shared ones. */
export const SERVICE_SECTIONS: EnvSection[] = [
  { title: 'Intake', source: 'services/intake/src/config.ts, intakeEnv', keys: intakeEnv.shape },
  { title: 'Email verification', source: 'services/email/src/config.ts, emailEnv', keys: emailEnv.shape },
  { title: 'NIK verification', source: 'services/nik-verification/src/config.ts, nikEnv', keys: nikEnv.shape },
  { title: 'Enrollment', source: 'services/enrollment/src/config.ts, enrollmentEnv', keys: enrollmentEnv.shape },
  { title: 'Population-registry simulator', source: 'services/registry-sim/src/config.ts, registrySimEnv', keys: registrySimEnv.shape },
  { title: 'Edge', source: 'services/edge/src/config.ts, edgeEnv', keys: edgeEnv.shape },
];

export const UPDATE_COMMAND = 'pnpm run config:env-example';

const HEADER = `# Every setting a Gelombang service reads, with its default. "Required." marks a key without one: the
# service refuses to start until it is set; a commented-out key has no default and may stay unset.
# Each service's section says which shared keys it reads and lists the keys it adds or whose default
# it changes (HTTP_PORT, PG_SCHEMA, CONSUMER_GROUP...): those are that service's values, so give each
# process its own service's keys rather than this whole file.
#
# Generated from the zod schemas named in each section by test/env-example.ts: do not edit it here.
# Change the schema's .describe() or default and run \`${UPDATE_COMMAND}\`;
# test/env-example.unit.test.ts fails while this file and the schemas disagree.
#
# Only the services' keys are here, because only they have a schema to render this file from. Scripts,
# tests and the load suite read some of the same keys (DATABASE_URL, REDIS_URL, KAFKA_BROKERS,
# REGISTRY_URL, the tokens, PII_INDEX_KEY, SESSION_SIGNING_KEY; the load suite passes KAFKA_LINGER_MS
# and INTAKE_WARMUP_REQUESTS on to the intake it starts) with the same meaning and defaults. Their own
# knobs, which no service reads (KAFKA_PORT, KAFKA_NODES... of infra/scripts/kafka.sh; LOADTEST_*,
# EMAIL_URL... of the load suite), are described where they are read: the scripts' headers and
# loadtests/README.md. Run locally, infra/scripts/services.sh starts each process with the HTTP_PORT
# and settings of infra/services.txt (HTTP_TRUST_PROXY=127.0.0.1, the edge, unless set: load runs
# straight at a service set loopback), and writes the required keys and tokens once into .run/dev-keys.env.`;

/** How the file writes a key: its default; empty, to be filled in; or commented out, unset. */
type Setting = { kind: 'default'; value: string } | { kind: 'required' } | { kind: 'unset' };

interface Entry {
  setting: Setting;
  comment: string;
}

/** `perService`: a shared key every service defaults on its own, said instead of "Required.". */
function entry(key: string, field: EnvField, source: string, perService = false): Entry {
  const json = field.toJSONSchema({ io: 'input', unrepresentable: 'any' });
  if (!json.description) throw new Error(`${key} (${source}) has no description: give its schema a .describe('what it does, in which unit')`);
  const required = !field.safeParse(undefined).success && !perService;
  const setting: Setting = json.default !== undefined ? { kind: 'default', value: String(json.default) } : required ? { kind: 'required' } : { kind: 'unset' };
  const values = json.enum ? ` One of: ${json.enum.join(', ')}.` : '';
  return { setting, comment: `${required ? 'Required. ' : ''}${json.description}${values}${perService ? ' Each service has its own default (below).' : ''}` };
}

/** A value as a dotenv line holds it: single-quoted when it has blanks, quotes or a #. */
function dotenvValue(v: string): string {
  if (!/[\s"'`#\\]/.test(v)) return v;
  if (v.includes("'")) throw new Error(`cannot quote ${v} for .env.example`);
  return `'${v}'`;
}

function keyLine(key: string, { setting }: Entry): string {
  if (setting.kind === 'default') return `${key}=${dotenvValue(setting.value)}`;
  return setting.kind === 'required' ? `${key}=` : `# ${key}=`;
}

const sectionHeading = (s: EnvSection) => `# ${s.title} (${s.source}) `.padEnd(100, '-');
const lines = (entries: Array<[string, Entry]>) => entries.flatMap(([key, e]) => [`# ${e.comment}`, keyLine(key, e)]);

function sharedEntries(section: EnvSection): Array<[string, Entry]> {
  return Object.entries(section.keys).map(([key, field]) => {
    const readers = SERVICE_SECTIONS.filter((s) => key in s.keys);
    const perService = !field.safeParse(undefined).success && readers.length > 0 && readers.every((s) => s.keys[key]!.safeParse(undefined).success);
    return [key, entry(key, field, section.source, perService)];
  });
}

function serviceSection(service: EnvSection, shared: Map<string, Entry>): string[] {
  const reads = SHARED_SECTIONS.map((s) => {
    const keys = Object.keys(s.keys).filter((k) => k in service.keys);
    const which = keys.length === Object.keys(s.keys).length ? 'all' : keys.length === 0 ? 'none' : `only ${keys.join(', ')}`;
    return `${which} of "${s.title}"`;
  });
  const own = Object.entries(service.keys)
    .map(([key, field]): [string, Entry] => [key, entry(key, field, service.source)])
    .filter(([key, e]) => {
      const common = shared.get(key);
      return !common || common.comment !== e.comment || keyLine(key, common) !== keyLine(key, e);
    });
  const list = reads.length > 1 ? `${reads.slice(0, -1).join(', ')} and ${reads.at(-1)}` : reads.join('');
  return [sectionHeading(service), `# Reads ${list}; adds or changes:`, ...lines(own)];
}

export function renderEnvExample(): string {
  const sharedSections = SHARED_SECTIONS.map((s) => ({ section: s, entries: sharedEntries(s) }));
  const shared = new Map(sharedSections.flatMap((s) => s.entries));
  const blocks = [
    HEADER.split('\n'),
    ...sharedSections.map(({ section, entries }) => [sectionHeading(section), ...lines(entries)]),
    ...SERVICE_SECTIONS.map((s) => serviceSection(s, shared)),
  ];
  return `${blocks.map((b) => b.join('\n')).join('\n\n')}\n`;
}
