import { z } from 'zod';
import { ADMIN_SECURITY, problems, PUBLIC, withHeaders } from '@gelombang/contracts';
import type { App } from '@gelombang/platform';
import type { BatchesRepository, BatchRow } from '../data-access/batches-repository';
import { phaseAt, sameDefinition, type BatchDefinition } from '../domain/batch-window';
import { ENROLLMENT_ADMIN_FORBIDDEN, ENROLLMENT_ADMIN_UNAUTHENTICATED, ENROLLMENT_BATCH_CONFLICT, ENROLLMENT_BATCH_NOT_FOUND } from '../errors';
import { requireAdmin } from './admin-auth';
import { batchCreateRequest, batchId, batchList, batchView } from './schemas';

export interface BatchRoutesDeps {
  batches: BatchesRepository;
  adminToken: string;
}

export const toBatchView = (row: BatchRow, now = new Date()): z.infer<typeof batchView> => ({
  batchId: row.batchId,
  name: row.name,
  quota: row.quota,
  enrolled: row.enrolled,
  seatsLeft: row.quota - row.enrolled,
  opensAt: row.opensAt.toISOString(),
  closesAt: row.closesAt.toISOString(),
  status: phaseAt(row, now),
});

export async function batchRoutes(app: App, deps: BatchRoutesDeps) {
  app.post(
    '/v1/admin/batches',
    {
      onRequest: requireAdmin(deps.adminToken),
      schema: {
        summary: 'Create a training batch (operators)',
        description:
          'Who may call: operators, with Authorization: Bearer <ADMIN_TOKEN> (checked before the body is read: 401 without it, 403 with another). ' +
          'Creating the same batch again answers 200; the same id with other values 409.',
        operationId: 'createBatch',
        tags: ['batches'],
        security: ADMIN_SECURITY,
        body: batchCreateRequest,
        response: {
          200: withHeaders(batchView.describe('The batch existed with these values: nothing changed'), ['Location']),
          201: withHeaders(batchView.describe('Created'), ['Location']),
          ...problems([ENROLLMENT_ADMIN_UNAUTHENTICATED, ENROLLMENT_ADMIN_FORBIDDEN, ENROLLMENT_BATCH_CONFLICT]),
        },
      },
    },
    async (req, reply) => {
      const def: BatchDefinition = { ...req.body, opensAt: new Date(req.body.opensAt), closesAt: new Date(req.body.closesAt) };
      const { created, row } = await deps.batches.create(def);
      if (!created && !sameDefinition(row, def)) throw ENROLLMENT_BATCH_CONFLICT();
      // Warms the enrollment path's cache of definitions.
      deps.batches.remember(row);
      if (created) req.log.info({ batchId: row.batchId, quota: row.quota }, 'batch created');
      reply.header('location', `/v1/batches/${row.batchId}`);
      return reply.status(created ? 201 : 200).send(toBatchView(row));
    },
  );

  app.get(
    '/v1/batches',
    {
      schema: {
        summary: 'Batches open for enrollment now, with seats left',
        description: 'Who may call: anyone.',
        operationId: 'listOpenBatches',
        tags: ['batches'],
        security: PUBLIC,
        response: { 200: batchList },
      },
    },
    async () => ({
      batches: (await deps.batches.listOpen()).map((row) => toBatchView(row)),
    }),
  );

  app.get(
    '/v1/batches/:batchId',
    {
      schema: {
        summary: 'One batch',
        description: 'Who may call: anyone.',
        operationId: 'getBatch',
        tags: ['batches'],
        security: PUBLIC,
        params: z.object({ batchId }),
        response: { 200: batchView, ...problems([ENROLLMENT_BATCH_NOT_FOUND]) },
      },
    },
    async (req) => {
      const row = await deps.batches.find(req.params.batchId);
      if (!row) throw ENROLLMENT_BATCH_NOT_FOUND();
      return toBatchView(row);
    },
  );
}
