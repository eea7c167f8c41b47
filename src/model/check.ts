/**
 * One line of `doctor`: a thing checked, how it stands, and on failure what to do. Plain data, so
 * the text and JSON renderings and the tests read the same value.
 */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface Check {
  /** Stable, for scripts and tests: e.g. `config`, `docker.token`, `state`. */
  readonly id: string;
  readonly status: CheckStatus;
  /** What was found, one line. */
  readonly detail: string;
  /** On warn or fail: what to do about it. */
  readonly fix?: string;
}
