export * from './deadletters';
