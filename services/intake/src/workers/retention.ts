import { registrationStatusChangedV1Event } from '@gelombang/contracts';
import { PollingWorker } from '@gelombang/platform';
import type { FastifyBaseLogger } from 'fastify';
import type { RegistrationsRepository } from '../data-access/registrations-repository';
import type { RegistrationClaims } from '../domain/registration-claims';
import { events } from '../domain/events';

const BATCH = 500;

/**
 * The intake's clock-driven duties (issue #13):
 * - a registration that has not verified its email `pendingSec` after it was submitted **expires**: its
 *   status event goes out through the outbox, its email and its place among the NIK's pending
 *   registrations are released (the same person, or the address's real owner, may register again);
 * - a registration that ended expired, duplicate or rejected by the registry and has not moved for
 *   `retentionSec` **loses its sealed personal data** (UU PDP 27/2022: kept no longer than its purpose).
 * Runs in the projector processes; replicas share the rows (SKIP LOCKED).
 */
export class RetentionWorker extends PollingWorker {
  constructor(
    private readonly d: {
      repository: RegistrationsRepository;
      claims: Pick<RegistrationClaims, 'release'>;
      pendingSec: number;
      retentionSec: number;
      pollMs: number;
      onExpired: (n: number) => void;
      onErased: (n: number) => void;
      /** The outbox has rows to publish. */
      onEnqueued: () => void;
    },
    logger: FastifyBaseLogger,
  ) {
    super(logger, 'retention', d.pollMs);
  }

  protected async round(): Promise<boolean> {
    const now = Date.now();
    const changedAt = new Date(now).toISOString();
    const expired = await this.d.repository.expirePending(new Date(now - this.d.pendingSec * 1000), BATCH, (registrationId) =>
      events.message(registrationStatusChangedV1Event, { registrationId, status: 'expired', reason: 'EMAIL_NOT_VERIFIED', changedAt }),
    );
    if (expired.length) {
      this.d.onEnqueued();
      await this.d.claims.release(expired);
      this.d.onExpired(expired.length);
      this.log.info({ expired: expired.length }, 'unverified registrations expired');
    }
    const erased = await this.d.repository.erasePersonalData(new Date(now - this.d.retentionSec * 1000), BATCH);
    if (erased) {
      this.d.onErased(erased);
      this.log.info({ erased }, 'personal data past its retention erased');
    }
    return expired.length === BATCH || erased === BATCH;
  }
}
