import { z } from 'zod';

/** Not a CloudEvent of its own: a poison message, kept as received, with where it came from. */
export const DEADLETTER_V1 = 'deadletter.v1';
export const deadLetterV1 = z.object({
  originalTopic: z.string(),
  partition: z.number().int(),
  offset: z.string(),
  consumerGroup: z.string(),
  reason: z.string(),
  value: z.string(),
  /**
   * The original Kafka headers (content-type, CloudEvents `ce_*` ones), so that a replay puts back a
   * message the CloudEvents SDKs still read. Added 2026-12-04, optional: older records have none.
   */
  headers: z.record(z.string(), z.string()).optional(),
  deadLetteredAt: z.iso.datetime({ offset: true }),
});
export type DeadLetterV1 = z.infer<typeof deadLetterV1>;
