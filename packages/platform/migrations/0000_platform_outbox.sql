-- The transactional outbox (packages/platform/src/outbox.ts): events written in the same transaction
-- as the state they announce, published to Kafka by the relay, deleted once the broker acknowledged.
CREATE TABLE IF NOT EXISTS outbox (
  id         bigserial PRIMARY KEY,
  topic      text NOT NULL,
  key        text NOT NULL,
  value      text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
