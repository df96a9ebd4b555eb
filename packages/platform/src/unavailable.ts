/*
 * Which failures mean "a datastore is away or too slow" rather than "this request (or our code) is
 * wrong". The HTTP error handler answers the first kind 503 + Retry-After; a consumer retries them
 * without counting them against a message (a database outage must not dead-letter a partition).
 */
/** SQLSTATE classes and codes a retry can cure (PostgreSQL appendix A). */
const PG_TRANSIENT_CLASSES = ['08', '53', '57P', '58'];
const PG_TRANSIENT_CODES = new Set([
  '57014', // query_canceled: statement_timeout
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available (lock_timeout)
  '25P03', // idle_in_transaction_session_timeout
]);

/** Socket-level codes (node net, dns) of a peer that is away, refusing or not answering. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);

/** Messages node-postgres and ioredis give these failures (they carry no code). */
const DRIVER_MESSAGES = [
  /^Connection terminated/, // pg: server closed or killed the connection; also "... due to connection timeout"
  /^timeout exceeded when trying to connect$/, // pg-pool: no connection within connectionTimeoutMillis
  /^Query read timeout$/, // pg: query_timeout
  /is not queryable$/, // pg: a client whose connection already failed
  /^Command timed out$/, // ioredis / DeadlineRedis
  /^Stream isn't writeable/, // ioredis with the offline queue off: Redis is not connected
  /^Connection is closed\.?$/, // ioredis
];

export type Unavailable = 'kafka' | 'store';

/**
 * `kafka` when the broker did not take a publish (no acknowledgement in time, or known down), `store`
 * when PostgreSQL or Redis refused, dropped, or did not answer within its timeout, else undefined.
 * Looks through `cause` and an AggregateError's errors (a host name with two addresses refuses twice).
 */
export function unavailableKind(err: unknown, depth = 0): Unavailable | undefined {
  if (!err || typeof err !== 'object' || depth > 3) return undefined;
  const e = err as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  const name = typeof e.name === 'string' ? e.name : '';
  // By name: kafka.ts imports this module (PublishTimeoutError, KafkaUnavailableError, kafkajs' KafkaJS*).
  if (name === 'PublishTimeoutError' || name.startsWith('Kafka')) return 'kafka';
  const code = typeof e.code === 'string' ? e.code : '';
  if (/^[0-9A-Z]{5}$/.test(code) && (PG_TRANSIENT_CODES.has(code) || PG_TRANSIENT_CLASSES.some((c) => code.startsWith(c)))) return 'store';
  if (SOCKET_CODES.has(code) || name === 'MaxRetriesPerRequestError') return 'store';
  const message = typeof e.message === 'string' ? e.message : '';
  if (DRIVER_MESSAGES.some((re) => re.test(message))) return 'store';
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const kind = unavailableKind(inner, depth + 1);
      if (kind) return kind;
    }
  }
  return unavailableKind(e.cause, depth + 1);
}

/**
 * The connection itself failed (refused, dropped, no answer in time), as opposed to the server
 * answering with an error (statement timeout, deadlock) on a connection that still works.
 */
export function connectionLost(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return unavailableKind(err) === 'store' && !(typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code));
}
