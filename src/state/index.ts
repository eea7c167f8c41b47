export { openState, type OpenStateOptions } from './open.ts';
export { StateStore, type RunRow, type RunSummary, type StoredRun, type PruneOptions, type PruneResult, type JournalRow, type RunLockRelease } from './store.ts';
export { StateError, type StateFailure } from './errors.ts';
export type { Interruption, InFlightWrite } from './in-flight.ts';
