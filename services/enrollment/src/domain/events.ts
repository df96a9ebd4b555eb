import {
  enrollmentEnrolledV1Event,
  enrollmentWithdrawnV1Event,
  eventBuilder,
  registrationStatusChangedV1Event,
  type EnrollmentEnrolledV1Data,
  type EventMessage,
} from '@gelombang/contracts';
import type { Enrollment } from '../data-access/enrollments-repository';

/** Every event the enrollment service writes is built (and checked against its contract) here. */
export const events = eventBuilder('urn:gelombang:enrollment');

/** A seat taken: the enrollment fact and the funnel status. */
export function enrolledEvents(data: EnrollmentEnrolledV1Data): EventMessage[] {
  return [
    events.message(enrollmentEnrolledV1Event, data),
    events.message(registrationStatusChangedV1Event, { registrationId: data.registrationId, status: 'enrolled', changedAt: data.enrolledAt }),
  ];
}

/** A seat given back: the withdrawal fact and the funnel status (`withdrawn`, with its reason). */
export function withdrawnEvents(e: Enrollment): EventMessage[] {
  const endedAt = e.endedAt!.toISOString();
  return [
    events.message(enrollmentWithdrawnV1Event, {
      enrollmentId: e.enrollmentId,
      registrationId: e.registrationId,
      batchId: e.batchId,
      reason: 'WITHDRAWN_BY_APPLICANT',
      endedAt,
    }),
    events.message(registrationStatusChangedV1Event, {
      registrationId: e.registrationId,
      status: 'withdrawn',
      reason: 'WITHDRAWN_BY_APPLICANT',
      changedAt: endedAt,
    }),
  ];
}
