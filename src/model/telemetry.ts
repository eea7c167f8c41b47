/**
 * What the HTTP clients report as they go, for metrics. The clients call it; the daemon implements
 * it with Prometheus counters, and a one-shot command passes nothing. No argument can carry a
 * person's data: a system, a method, a status, a duration, a count.
 */

export type ApiSystem = 'okta' | 'entra' | 'docker' | 'webhook';

/**
 * The listings a read pages through: `users` (Docker's /Users, Okta's app users), `groups`
 * (Docker's /Groups, Okta's app group assignments), `members` (the members of IdP groups, counted
 * across all of a read's member listings), `assignments` (Entra's appRoleAssignedTo).
 */
export type Listing = 'users' | 'groups' | 'members' | 'assignments';

export interface TransportObserver {
  /** One HTTP exchange (each attempt, each redirect hop): its status, or `timeout` / `network` when there was no answer. */
  request(system: ApiSystem, method: string, status: number | 'timeout' | 'network'): void;
  /** A request is about to be sent again (429, 5xx, timeout, reset; a throttled `$batch` item counts as one). */
  retry(system: ApiSystem): void;
  /**
   * Time spent waiting because the server limits the rate: for a 429 to pass, for a pacing window
   * to reset, or for a delay the server named (`Retry-After`, on any status). Not the client's own
   * backoff after a 5xx, timeout or reset without such a header: that is not rate limiting, and
   * counting it would make a flaky network look like a rate-limit problem. Requests held at once
   * (a 429 pauses every Docker request) each report their own wait.
   */
  waited(system: ApiSystem, ms: number): void;
  /**
   * After each page of a listing: the items read so far in that listing, and the total the server
   * announced (Docker's `totalResults`), or null when it announces none (Okta, Graph).
   */
  listed?(system: ApiSystem, listing: Listing, items: number, total: number | null): void;
}
