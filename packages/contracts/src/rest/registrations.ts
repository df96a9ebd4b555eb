import { z } from 'zod';
import { ageOn, checkNikMatchesBirthDate, isValidProvinceCode, parseIsoDate, parseNik } from '@gelombang/nik';
import { registrationStatus } from '../events/registration-status-changed.v1';

export interface RegistrationRules {
  minAge: number;
  maxAge: number;
  /** Registration day (tests pin it). Ages are counted in WIB calendar days. */
  today: () => Date;
}

const NAME_RE = /^[\p{L}\p{M}][\p{L}\p{M} .'-]*$/u;

/** NAME_RE as a JSON Schema pattern (Unicode property escapes: ECMA-262 with the u flag, which JSON Schema uses). */
const NAME_PATTERN = "^[\\p{L}\\p{M}][\\p{L}\\p{M} .'-]*$";
/** What normalisePhone accepts, spaces and dashes anywhere included. */
const PHONE_PATTERN = '^[\\s-]*(?:\\+[\\s-]*6[\\s-]*2|6[\\s-]*2|0)[\\s-]*8[\\s-]*[1-9](?:[\\s-]*[0-9]){7,10}[\\s-]*$';
/** The NIK's shape for a document (the province, date and serial rules are the refinement's: see its description). */
export const NIK_SPEC = { pattern: '^[0-9]{16}$', minLength: 16, maxLength: 16, example: '3204110609970001' };

const issue = (code: string) => ({ code: 'custom' as const, params: { code }, message: code });

/** Collapses runs of spaces; names are compared and shown as people typed them otherwise. */
const personName = (field: string) =>
  z
    .string()
    .transform((v) => v.normalize('NFC').trim().replace(/\s+/g, ' '))
    .superRefine((v, ctx) => {
      if ([...v].length < 2) ctx.addIssue(issue('NAME_TOO_SHORT'));
      else if ([...v].length > 100) ctx.addIssue(issue('NAME_TOO_LONG'));
      else if (!NAME_RE.test(v)) ctx.addIssue(issue(`${field}_INVALID_CHARACTERS`));
    });

/** Indonesian mobile numbers in 08…, 628… or +628… form, with optional spaces/dashes → E.164. */
export function normalisePhone(raw: string): string | undefined {
  const compact = raw.replace(/[\s-]/g, '');
  const m = /^(?:\+62|62|0)(8[1-9]\d{7,10})$/.exec(compact);
  return m ? `+62${m[1]}` : undefined;
}

/**
 * Request body of POST /v1/registrations; normalises as it validates. Each field is checked on its
 * own so one answer lists every bad field; the NIK-vs-birth-date check runs once both are readable.
 */
export function registrationRequest(rules: RegistrationRules) {
  const window = () => ({ today: rules.today(), minAge: rules.minAge, maxAge: rules.maxAge });
  return z
    .strictObject({
      fullName: personName('FULL_NAME')
        .meta({ pattern: NAME_PATTERN, minLength: 2, example: 'Budi Santoso' })
        .describe("Full name as on the e-KTP; 2–100 letters (any script), spaces, . ' - (runs of spaces collapse)"),
      nik: z
        .string()
        .superRefine((nik, ctx) => {
          const parsed = parseNik(nik, window());
          // The age rule is reported on birthDate, the field the applicant reads it from.
          if (!parsed.ok) for (const i of parsed.issues) if (i.code !== 'NIK_AGE_OUT_OF_RANGE') ctx.addIssue(issue(i.code));
        })
        .meta(NIK_SPEC)
        .describe(
          '16-digit NIK (Nomor Induk Kependudukan): digits 1–2 a province code, 3–4 not 00 or 70, 7–12 the birth date DDMMYY ' +
            '(+40 on the day for women, matching birthDate), 13–16 not 0000',
        ),
      email: z
        .string()
        .max(254)
        .transform((v) => v.trim().toLowerCase())
        .pipe(z.email({ error: 'EMAIL_INVALID' }))
        .meta({ format: 'email', example: 'budi@example.co.id' })
        .describe('Email address; stored lower-case'),
      phone: z
        .string()
        .max(32)
        .transform((v, ctx) => normalisePhone(v) ?? (ctx.addIssue(issue('PHONE_INVALID')), z.NEVER))
        .meta({ pattern: PHONE_PATTERN, example: '081234567890' })
        .describe('Indonesian mobile number: 08…, 628… or +628… (spaces and dashes allowed); stored as E.164'),
      birthDate: z
        .string()
        .superRefine((v, ctx) => {
          if (!parseIsoDate(v)) return ctx.addIssue(issue('BIRTH_DATE_INVALID'));
          const age = ageOn(v, rules.today());
          if (age < rules.minAge || age > rules.maxAge) ctx.addIssue(issue('AGE_OUT_OF_RANGE'));
        })
        .meta({ format: 'date', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', example: '1997-09-06' })
        .describe('YYYY-MM-DD, a real date; must match the NIK; age 18–64 on the registration day (WIB)'),
      birthPlace: personName('BIRTH_PLACE')
        .meta({ pattern: NAME_PATTERN, minLength: 2, example: 'Bandung' })
        .describe('Place of birth; the same rule as names')
        .optional(),
      kkNumber: z
        .string()
        .refine((v) => /^\d{16}$/.test(v) && isValidProvinceCode(v.slice(0, 2)), { params: { code: 'KK_NUMBER_INVALID' } })
        .meta({ pattern: '^[0-9]{16}$', minLength: 16, maxLength: 16, example: '3204110101190001' })
        .optional()
        .describe('16-digit family card (Kartu Keluarga) number, starting with a province code'),
    })
    .meta({
      title: 'RegistrationRequest',
      // `example`, not `examples`: zod leaves `examples` out of an input schema that transforms (they would be output values).
      example: { fullName: 'Budi Santoso', nik: '3204110609970001', email: 'budi@example.co.id', phone: '081234567890', birthDate: '1997-09-06' },
    })
    .transform((body, ctx) => {
      const mismatch = checkNikMatchesBirthDate(body.nik, body.birthDate);
      const parsed = parseNik(body.nik, window());
      if (mismatch.length > 0 || !parsed.ok) {
        for (const i of mismatch.length ? mismatch : [{ code: 'NIK_BIRTH_DATE_MISMATCH' }]) ctx.addIssue({ ...issue(i.code), path: ['nik'] });
        return z.NEVER;
      }
      return { ...body, provinceCode: parsed.value.provinceCode as string, sex: parsed.value.sex };
    });
}
export type RegistrationRequest = z.output<ReturnType<typeof registrationRequest>>;

const EXAMPLE_ID = '0193a5c2-7d4e-7c3a-9f1e-2b6d8c4a1e90';

export const registrationAccepted = z
  .object({
    registrationId: z.uuid().describe('The id every later step names; only this answer carries it'),
    status: z.literal('pending_email_verification'),
  })
  .meta({ title: 'RegistrationAccepted', examples: [{ registrationId: EXAMPLE_ID, status: 'pending_email_verification' }] });

export const registrationView = z
  .object({
    registrationId: z.uuid(),
    status: z.union([registrationStatus, z.literal('processing')]),
    emailMasked: z.string().optional(),
    /** Why the last NIK check failed (`NIK_NOT_FOUND`, `DATA_MISMATCH`, `NIK_INACTIVE`, `NIK_ALREADY_HELD`: another registration holds this NIK), while status is nik_rejected. */
    reason: z.string().optional(),
    /** Which NIK check the status is about: 1, then +1 per correction. */
    nikAttempt: z.number().int().positive().optional(),
    /** True while status is nik_rejected and the applicant may send a corrected NIK. */
    nikCorrectable: z.boolean().optional(),
    createdAt: z.iso.datetime({ offset: true }),
    updatedAt: z.iso.datetime({ offset: true }),
  })
  .meta({
    title: 'RegistrationView',
    examples: [
      {
        registrationId: EXAMPLE_ID,
        status: 'nik_verified',
        emailMasked: 'b***@example.co.id',
        nikAttempt: 1,
        createdAt: '2026-12-04T08:00:00.000Z',
        updatedAt: '2026-12-04T08:00:05.000Z',
      },
    ],
  });
export type RegistrationView = z.infer<typeof registrationView>;

/**
 * The platform's coded, bilingual error body (docs/errors.md): `code` is stable, `message` follows
 * Accept-Language, a 400 VALIDATION_FAILED lists every bad field in `errors`.
 */
export const errorBody = z
  .object({
    code: z.string().describe('Stable error code (docs/errors.md): what a client branches on'),
    message: z.string().describe('For people, in the language of Accept-Language (Indonesian by default)'),
    errors: z
      .array(
        z.object({
          field: z.string().describe('The field, as named in the request'),
          code: z.string().describe('Field code (docs/errors.md, "Field codes")'),
          message: z.string(),
        }),
      )
      .optional()
      .describe('400 VALIDATION_FAILED: every invalid field'),
  })
  .meta({ title: 'Problem' });

/**
 * Body of POST /v1/registrations/:id/nik: the corrected NIK after a registry rejection. Its format is
 * checked here; that it matches the birth date given at registration is checked by the service.
 */
export const nikCorrectionRequest = z
  .strictObject({
    nik: z.string().meta(NIK_SPEC).describe('The corrected 16-digit NIK (the rules of registration; it must match the birth date given then)'),
  })
  .meta({ title: 'NikCorrectionRequest', examples: [{ nik: '3204110609970002' }] });
export type NikCorrectionRequest = z.infer<typeof nikCorrectionRequest>;

export const nikCorrectionAccepted = z
  .object({
    registrationId: z.uuid(),
    status: z.literal('nik_resubmitted'),
    nikAttempt: z.number().int().positive().describe('The attempt the new registry check is about'),
  })
  .meta({ title: 'NikCorrectionAccepted', examples: [{ registrationId: EXAMPLE_ID, status: 'nik_resubmitted', nikAttempt: 2 }] });

/** The Idempotency-Key request header of POST /v1/registrations (checked by the route: 400 INTAKE_IDEMPOTENCY_KEY_INVALID). */
export const idempotencyKeyHeader = z
  .string()
  .optional()
  .meta({ pattern: '^[\\x21-\\x7e]{1,255}$', examples: ['0f8fad5b-d9cb-469f-a165-70867728950e'] })
  .describe(
    'Makes a retry safe: the same key with the same body within the key’s lifetime answers the stored 202 (with Idempotent-Replayed: true) ' +
      'instead of registering twice; 1–255 visible ASCII characters (a UUID is a good choice).',
  );
