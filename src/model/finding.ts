/**
 * Something the admin should know that is not an operation: bad input, conflicts, drift, accounts
 * the tool will not touch. Findings never stop a run; each names its subject and what to do.
 */
export type FindingCode =
  | 'INVALID_EMAIL'
  | 'MISSING_EMAIL'
  | 'UNKNOWN_ROLE'
  | 'AMBIGUOUS_ATTRIBUTE'
  | 'INVALID_ORG'
  | 'INVALID_TEAM'
  | 'MALFORMED_GROUP'
  | 'DUPLICATE_USERNAME'
  | 'VALUE_TOO_LONG'
  | 'INVALID_NAME'
  | 'ILL_TYPED_VALUE'
  | 'UNVERIFIED_DOMAIN'
  | 'ORG_OUT_OF_SCOPE'
  | 'ROLE_CONFLICT_RESOLVED'
  | 'UNMANAGED_ACCOUNT'
  | 'ADOPTABLE_ACCOUNT'
  | 'USERNAME_CONFLICT'
  | 'USERNAME_PENDING'
  | 'DRIFT'
  | 'JIT_SUSPECTED'
  | 'LINKED_ACCOUNT_GONE'
  | 'LINKED_ACCOUNT_CHANGED'
  | 'INACTIVE_UNLINKED'
  | 'SAFETY_THRESHOLD'
  | 'LAST_OWNER'
  | 'TEAM_SYNC_UNAVAILABLE'
  | 'TEAM_RENAMED'
  | 'DEACTIVATION_DISABLED'
  | 'INTERRUPTED_RUN'
  | 'SOURCE_NOTE'
  | 'FEED_UNAVAILABLE'
  | 'SEATS_EXHAUSTED';

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  readonly code: FindingCode;
  readonly severity: Severity;
  /** What it is about: a userName, a group name, or an IdP id when there is nothing better. */
  readonly subject: string;
  readonly idpId?: string;
  readonly dockerId?: string;
  readonly message: string;
  /** What the admin can do about it. */
  readonly advice?: string;
  /** The field it is about, where there is one (DRIFT, JIT_SUSPECTED): e.g. `givenName`, `role`. */
  readonly field?: string;
}
