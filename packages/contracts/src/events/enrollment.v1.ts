import { z } from 'zod';
import { defineEvent } from '../cloudevents';

/** A verified person took a seat in a batch (gelombang). */
export const enrollmentEnrolledV1Data = z.object({
  enrollmentId: z.uuid(),
  registrationId: z.uuid(),
  batchId: z.string().min(1),
  enrolledAt: z.iso.datetime({ offset: true }),
});
export type EnrollmentEnrolledV1Data = z.infer<typeof enrollmentEnrolledV1Data>;
export const ENROLLMENT_ENROLLED_V1 = 'enrollment.enrolled.v1';
export const enrollmentEnrolledV1Event = defineEvent(ENROLLMENT_ENROLLED_V1, 'id.gelombang.enrollment.enrolled.v1', enrollmentEnrolledV1Data);
export const enrollmentEnrolledV1 = enrollmentEnrolledV1Event.schema;
export type EnrollmentEnrolledV1 = z.infer<typeof enrollmentEnrolledV1>;

/** A seat was given back (the person withdrew), so the batch has room again. */
export const enrollmentWithdrawnV1Data = z.object({
  enrollmentId: z.uuid(),
  registrationId: z.uuid(),
  batchId: z.string().min(1),
  reason: z.enum(['WITHDRAWN_BY_APPLICANT']),
  endedAt: z.iso.datetime({ offset: true }),
});
export type EnrollmentWithdrawnV1Data = z.infer<typeof enrollmentWithdrawnV1Data>;
export const ENROLLMENT_WITHDRAWN_V1 = 'enrollment.withdrawn.v1';
export const enrollmentWithdrawnV1Event = defineEvent(ENROLLMENT_WITHDRAWN_V1, 'id.gelombang.enrollment.withdrawn.v1', enrollmentWithdrawnV1Data);
export const enrollmentWithdrawnV1 = enrollmentWithdrawnV1Event.schema;
export type EnrollmentWithdrawnV1 = z.infer<typeof enrollmentWithdrawnV1>;
