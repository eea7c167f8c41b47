export { openState, type OpenStateOptions } from './open.ts';
export { StateStore, type RunRow, type JournalRow } from './store.ts';
export { StateError } from './errors.ts';
