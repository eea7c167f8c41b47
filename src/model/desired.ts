import type { UserAttributes } from './docker.ts';
import type { Finding } from './finding.ts';

/**
 * An IdP user after Docker's role/org/team rules: what Docker should hold for them. `userName` is
 * a valid email in the IdP's own case (Docker compares userNames case-insensitively); `org` the
 * one the extension names (dockerOrg, else the default org); `team` the one it names (the first
 * dockerTeam, the default team, or null for dockerOrg alone).
 */
export interface DesiredUser extends UserAttributes {
  readonly idpId: string;
  /** Every team membership as `org:team`, from the attributes and from assigned org:team groups; sorted, unique. */
  readonly teams: readonly string[];
}

/** The output of the mapping rules for a whole snapshot. */
export interface DesiredState {
  readonly users: readonly DesiredUser[];
  /**
   * IdP ids that are assigned but whose record could not be mapped (bad email, unknown role, …).
   * They are held: never created or changed this run, and never deactivated, because the IdP still
   * assigns them.
   */
  readonly held: readonly string[];
  /**
   * IdP ids that are assigned but inactive (disabled, deprovisioned) and whose record could not be
   * mapped. A deactivation needs nothing from the record, so their links are deactivated like any
   * leaver's: a typo in a leaver's attributes must not keep their access alive.
   */
  readonly deprovisioned: readonly string[];
  readonly findings: readonly Finding[];
  /** What Docker's SSO connection covers, as the mapping applied it; absent: everything. */
  readonly connection?: ConnectionScope;
}

/**
 * DOCKER_VERIFIED_DOMAINS and DOCKER_ORGS, lower-cased; null: not limited. The mapping holds users
 * outside them; the planner keeps its hands off what lies outside too (teams of other orgs, accounts
 * of unverified domains).
 */
export interface ConnectionScope {
  readonly verifiedDomains: readonly string[] | null;
  readonly orgs: readonly string[] | null;
}
