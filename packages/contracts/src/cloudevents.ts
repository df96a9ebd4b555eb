import { z } from 'zod';
import { v7 as uuidv7 } from 'uuid';

/** Time-ordered and unguessable (74 random bits): used for event and registration ids. */
export const newId = (): string => uuidv7();

/** CloudEvents 1.0, structured JSON mode: the envelope every event on every topic carries. */
export function cloudEvent<T extends string, D extends z.ZodType>(type: T, data: D) {
  return z.object({
    specversion: z.literal('1.0'),
    id: z.string().min(1),
    source: z.string().min(1),
    type: z.literal(type),
    subject: z.string().min(1),
    time: z.iso.datetime({ offset: true }),
    datacontenttype: z.literal('application/json'),
    data,
  });
}

export interface CloudEvent<T extends string = string, D = unknown> {
  specversion: '1.0';
  id: string;
  source: string;
  type: T;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: D;
}

export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=UTF-8';

export function makeEvent<T extends string, D>(type: T, source: string, subject: string, data: D, id = newId()): CloudEvent<T, D> {
  return { specversion: '1.0', id, source, type, subject, time: new Date().toISOString(), datacontenttype: 'application/json', data };
}
