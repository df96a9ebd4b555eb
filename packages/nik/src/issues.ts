/** Every problem a NIK check can report. Codes are never reused or renamed: services map them to messages. */
export const NIK_ISSUE_CODES = [
  'NIK_FORMAT',
  'NIK_PROVINCE_UNKNOWN',
  'NIK_REGENCY_INVALID',
  'NIK_BIRTH_DATE_INVALID',
  'NIK_AGE_OUT_OF_RANGE',
  'NIK_SERIAL_ZERO',
  'NIK_BIRTH_DATE_MISMATCH',
] as const;

export type NikIssueCode = (typeof NIK_ISSUE_CODES)[number];

export interface NikIssue {
  code: NikIssueCode;
}
