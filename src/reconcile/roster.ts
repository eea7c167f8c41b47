import type { DesiredState, DesiredUser } from '../model/desired.ts';

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
}

export function rosterOf(desired: DesiredState): Roster {
  return {
    byId: new Map(desired.users.map((u) => [u.idpId, u])),
    active: new Set(desired.users.filter((u) => u.active).map((u) => u.idpId)),
    held: new Set(desired.held),
    deprovisioned: new Set(desired.deprovisioned),
  };
}

/** The IdP still wants this person to have access, or cannot say because their record is bad. */
export function wantsAccess(roster: Roster, idpId: string): boolean {
  return roster.active.has(idpId) || roster.held.has(idpId);
}
