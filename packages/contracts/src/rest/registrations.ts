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
      fullName: personName('FULL_NAME').describe("Full name as on the e-KTP; 2–100 letters, spaces, . ' -"),
      nik: z
        .string()
        .superRefine((nik, ctx) => {
          const parsed = parseNik(nik, window());
          // The age rule is reported on birthDate, the field the applicant reads it from.
          if (!parsed.ok) for (const i of parsed.issues) if (i.code !== 'NIK_AGE_OUT_OF_RANGE') ctx.addIssue(issue(i.code));
        })
        .describe('16-digit NIK (Nomor Induk Kependudukan)'),
      email: z
        .string()
        .max(254)
        .transform((v) => v.trim().toLowerCase())
        .pipe(z.email({ error: 'EMAIL_INVALID' }))
        .describe('Email address; stored lower-case'),
      phone: z
        .string()
        .max(32)
        .transform((v, ctx) => normalisePhone(v) ?? (ctx.addIssue(issue('PHONE_INVALID')), z.NEVER))
        .describe('Indonesian mobile number: 08…, 628… or +628…; stored as E.164'),
      birthDate: z
        .string()
        .superRefine((v, ctx) => {
          if (!parseIsoDate(v)) return ctx.addIssue(issue('BIRTH_DATE_INVALID'));
          const age = ageOn(v, rules.today());
          if (age < rules.minAge || age > rules.maxAge) ctx.addIssue(issue('AGE_OUT_OF_RANGE'));
        })
        .describe('YYYY-MM-DD; must match the NIK'),
      birthPlace: personName('BIRTH_PLACE').optional(),
      kkNumber: z
        .string()
        .refine((v) => /^\d{16}$/.test(v) && isValidProvinceCode(v.slice(0, 2)), { params: { code: 'KK_NUMBER_INVALID' } })
        .optional()
        .describe('16-digit family card (Kartu Keluarga) number'),
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

export const registrationAccepted = z.object({
  registrationId: z.uuid(),
  status: z.literal('pending_email_verification'),
});

export const registrationView = z.object({
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
});
export type RegistrationView = z.infer<typeof registrationView>;

export const errorBody = z.object({
  code: z.string(),
  message: z.string(),
  errors: z.array(z.object({ field: z.string(), code: z.string(), message: z.string() })).optional(),
});

/**
 * Body of POST /v1/registrations/:id/nik: the corrected NIK after a registry rejection. Its format is
 * checked here; that it matches the birth date given at registration is checked by the service.
 */
export const nikCorrectionRequest = z.strictObject({
  nik: z.string().describe('The corrected 16-digit NIK'),
});
export type NikCorrectionRequest = z.infer<typeof nikCorrectionRequest>;

export const nikCorrectionAccepted = z.object({
  registrationId: z.uuid(),
  status: z.literal('nik_resubmitted'),
  nikAttempt: z.number().int().positive(),
});
