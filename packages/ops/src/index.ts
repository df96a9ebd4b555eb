export * from './deadletters';
export * from './consumer-groups';
