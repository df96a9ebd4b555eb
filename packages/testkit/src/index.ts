export * from './env';
export * from './topic-tap';
export * from './processes';
export * from './test-topic';
export * from './private-postgres';
export * from './private-kafka';
