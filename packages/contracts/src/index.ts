export * from './cloudevents';
export * from './types';
export * from './messages';
export * from './events/registration-submitted.v1';
export * from './events/registration-status-changed.v1';
export * from './events/deadletter.v1';
export * from './rest/registrations';
