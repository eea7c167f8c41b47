import type { DesiredState, DesiredUser } from '../model/desired.ts';
import type { Link } from '../model/link.ts';

/**
 * Who the IdP wants, by IdP id: the questions every later phase asks about an IdP user, answered
 * once from the mapping rules' output.
 */
export interface Roster {
  /** Every mapped IdP user, active or not, by IdP id. */
  readonly byId: ReadonlyMap<string, DesiredUser>;
  readonly active: ReadonlySet<string>;
  /** Assigned, with a record too broken to map: frozen, never changed and never deactivated. */
  readonly held: ReadonlySet<string>;
  /** Inactive, with a record too broken to map: deactivated like any leaver. */
  readonly deprovisioned: ReadonlySet<string>;
  /**
   * An incremental run's IdP users: the ones its change feed named and it read afresh. Anyone
   * else was not read, so their absence from `byId` says nothing: they stand as the last run left
   * them. null on a full run, where everyone assigned was read.
   */
  readonly scope: ReadonlySet<string> | null;
}

export function rosterOf(desired: DesiredState, scope: ReadonlySet<string> | null = null): Roster {
  // A loop, not maps and filters of the list: no pair or array made for each of 100,000 users.
  const byId = new Map<string, DesiredUser>();
  const active = new Set<string>();
  for (const u of desired.users) {
    byId.set(u.idpId, u);
    if (u.active) active.add(u.idpId);
  }
  return {
    byId,
    active,
    held: new Set(desired.held),
    deprovisioned: new Set(desired.deprovisioned),
    scope,
  };
}

/** Whether this run read the IdP user: everyone on a full run, the feed's users on an incremental one. */
export function inScope(roster: Roster, idpId: string): boolean {
  return roster.scope === null || roster.scope.has(idpId);
}

/**
 * The IdP still wants the linked person to have access, or cannot say because their record is bad.
 * For someone an incremental run did not read, the last applied state answers: an account this
 * tool left active is still wanted, one it deactivated is not (invariant 11: not being read is
 * never taken for not being assigned).
 */
export function wantsAccess(roster: Roster, link: Link): boolean {
  if (!inScope(roster, link.idpId)) return link.applied.active;
  return roster.active.has(link.idpId) || roster.held.has(link.idpId);
}
