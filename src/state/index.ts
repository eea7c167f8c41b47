export { openState, type OpenStateOptions } from './open.ts';
export { StateStore, type RunRow, type JournalRow, type RunLockRelease } from './store.ts';
export { StateError, type StateFailure } from './errors.ts';
