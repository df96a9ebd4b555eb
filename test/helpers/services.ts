import { dropSchema } from '@gelombang/testkit';
import type { App } from '@gelombang/platform';
import * as email from '../../services/email/test/helpers/build-test-app';
import * as enrollment from '../../services/enrollment/test/helpers/build-test-app';
import * as intake from '../../services/intake/test/helpers/build-test-app';
import * as nik from '../../services/nik-verification/test/helpers/build-test-app';
import { buildApp as buildRegistrySim } from '../../services/registry-sim/src/app';
import { loadRegistrySimConfig } from '../../services/registry-sim/src/config';

/** The registry stand-in's token in the cluster-wide tests. */
export const REGISTRY_SIM_TOKEN = 'cluster-test-registry-token';

export interface ServiceUnderTest {
  /** The service's name, as its OpenAPI document's title says it. */
  name: 'intake' | 'email' | 'nik-verification' | 'enrollment' | 'registry-sim';
  app: App;
  /** Operators' bearer token, where the service has one (enrollment's ADMIN_TOKEN, the stand-in's token). */
  adminToken?: string;
  /** Its PostgreSQL schema (the registry stand-in has none). */
  schema?: string;
  cleanup: () => Promise<void>;
}

/**
 * Every service built in this process as its own tests build it (testkit: own schema, Redis prefix,
 * consumer group and keys) against the real PostgreSQL, Redis and Kafka: the cluster-wide tests and
 * the OpenAPI generator read their documents and call their routes through `inject`.
 */
export async function buildServices(o: { smtpUrl?: string } = {}): Promise<ServiceUnderTest[]> {
  const built: ServiceUnderTest[] = [];
  try {
    const ti = intake.testEnv();
    built.push({ name: 'intake', app: await intake.buildTestApp(ti), schema: ti.schema, cleanup: () => dropSchema(ti.schema) });
    // The intake's personal-data keys: the email service opens the registrations the intake seals, as in a deployment.
    const te = email.testEnv({
      PII_KEYS: ti.env.PII_KEYS!,
      PII_ACTIVE_KEY_ID: ti.env.PII_ACTIVE_KEY_ID!,
      PII_INDEX_KEY: ti.env.PII_INDEX_KEY!,
      // A private MailDev, where a test reads the codes.
      ...(o.smtpUrl ? { MAIL_SMTP_URL: o.smtpUrl } : {}),
    });
    built.push({ name: 'email', app: await email.buildTestApp(te), schema: te.schema, cleanup: () => dropSchema(te.schema) });
    const tn = nik.testEnv();
    built.push({ name: 'nik-verification', app: await nik.buildTestApp(tn), schema: tn.schema, cleanup: () => dropSchema(tn.schema) });
    const tr = enrollment.testEnv();
    built.push({
      name: 'enrollment',
      app: await enrollment.buildTestApp(tr),
      adminToken: tr.adminToken,
      schema: tr.schema,
      cleanup: () => dropSchema(tr.schema),
    });
    const sim = await buildRegistrySim(loadRegistrySimConfig({ REGISTRY_API_TOKEN: REGISTRY_SIM_TOKEN, REGISTRY_LATENCY_MS: '0', LOG_LEVEL: 'silent' }));
    await sim.ready();
    built.push({ name: 'registry-sim', app: sim, adminToken: REGISTRY_SIM_TOKEN, cleanup: async () => undefined });
  } catch (e) {
    await closeServices(built);
    throw e;
  }
  return built;
}

/** Closes what buildServices built and drops the schemas it made. */
export async function closeServices(services: ServiceUnderTest[]): Promise<void> {
  for (const s of services) {
    await s.app.close();
    await s.cleanup();
  }
}
