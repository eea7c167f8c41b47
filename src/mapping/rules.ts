import { DOCKER_ROLES, type DockerRole } from '../model/docker.ts';
import type { MappingPolicy } from './policy.ts';
import { isValidOrg, isValidTeam, preview } from './validate.ts';

/**
 * Docker's role/org/team rules for user-level attributes (reference docker-scim.md §6):
 *
 * | row | dockerOrg | dockerTeam | result                                   |
 * |-----|-----------|------------|------------------------------------------|
 * | 1   | –         | –          | default org + default team               |
 * | 2   | set       | –          | that org, no team                        |
 * | 3   | –         | set        | default org + that team (not the default)|
 * | 4   | set       | set        | that org + that team                     |
 *
 * dockerRole is the role, `member` when unset. Pure: no I/O, no clock.
 */

/** A row of the table above, numbered as README "Docker's rules" lists them. */
export type PlacementRow = 1 | 2 | 3 | 4;

/** Each row in words, for `explain`. */
export const PLACEMENT_ROWS: Readonly<Record<PlacementRow, string>> = {
  1: 'neither dockerOrg nor dockerTeam set: the default organization and the default team',
  2: 'dockerOrg set, dockerTeam unset: that organization, no team',
  3: 'dockerTeam set, dockerOrg unset: the default organization and that team, instead of the default team',
  4: 'dockerOrg and dockerTeam set: that team in that organization',
};

export interface RuleDefaults {
  readonly defaultOrg: string;
  /** null when the SSO connection has no default team. */
  readonly defaultTeam: string | null;
}

export interface Placement {
  readonly role: DockerRole;
  readonly org: string;
  /** The team sent in the user's Docker extension, or null. */
  readonly team: string | null;
  /** Every org:team membership the attributes give (groups are added by the caller). */
  readonly teams: readonly string[];
  /** Set when several roles were settled by ENTRA_ROLE_CONFLICT=highest: all of them, for the report. */
  readonly roleConflict?: readonly DockerRole[];
  /** Which row of Docker's table placed the user. */
  readonly row: PlacementRow;
}

export interface RuleProblem {
  readonly code: 'UNKNOWN_ROLE' | 'AMBIGUOUS_ATTRIBUTE' | 'INVALID_ORG' | 'INVALID_TEAM';
  readonly message: string;
  readonly advice: string;
}

export interface RawAttributes {
  readonly dockerRole: readonly string[];
  readonly dockerOrg: readonly string[];
  readonly dockerTeam: readonly string[];
}

function distinct(values: readonly string[], normalise: (s: string) => string = (s) => s): string[] {
  const out: string[] = [];
  for (const v of values) {
    const n = normalise(v.trim());
    if (n !== '' && !out.includes(n)) out.push(n);
  }
  return out;
}

export function placeUser(attrs: RawAttributes, policy: RuleDefaults & Pick<MappingPolicy, 'roleConflict'>): Placement | RuleProblem[] {
  const problems: RuleProblem[] = [];

  // Roles and org names are lowercase in Docker; "Editor" from a hand-typed attribute means editor.
  const roles = distinct(attrs.dockerRole, (s) => s.toLowerCase());
  let role: DockerRole = 'member';
  let conflict: DockerRole[] | undefined;
  if (roles.length > 1) {
    // Several roles are rare: only they pay for the list of unknown ones.
    const unknown = roles.filter((r) => !isRole(r));
    if (policy.roleConflict === 'highest' && unknown.length === 0) {
      // Which role Entra's own provisioning sends for a user with several app roles is undocumented
      // (docker-docs-2026.md row 24: SingleAppRoleAssignment "picks one role", not which), so this
      // is our rule, chosen by the admin, not a copy of Entra's: the highest, and a finding says so.
      conflict = roles as DockerRole[];
      role = highestRole(conflict);
    } else if (policy.roleConflict === 'highest') {
      // An unknown value among several is not outranked by a known one: it may be a typo of "owner".
      for (const r of unknown) {
        problems.push({
          code: 'UNKNOWN_ROLE',
          message: `dockerRole ${preview(r)} is not a Docker role (the user has several: ${roles.map((v) => preview(v)).join(', ')}); the highest is not picked while one is unknown`,
          advice: `use one of ${DOCKER_ROLES.join(', ')} for every role the user holds; the user is left as they are until then`,
        });
      }
    } else {
      problems.push({
        code: 'AMBIGUOUS_ATTRIBUTE',
        message: `dockerRole has several values (${roles.map((r) => preview(r)).join(', ')}); a user has one role`,
        advice: 'give the user a single dockerRole in the IdP (for Entra app roles, ENTRA_ROLE_CONFLICT=highest takes the highest instead)',
      });
    }
  } else if (roles.length === 1) {
    const r = roles[0] as string;
    if (isRole(r)) role = r;
    else
      problems.push({
        code: 'UNKNOWN_ROLE',
        message: `dockerRole ${preview(r)} is not a Docker role`,
        advice: `use one of ${DOCKER_ROLES.join(', ')}; the user is left as they are until then (an unknown role is not guessed, so a typo cannot demote an owner)`,
      });
  }

  const orgs = distinct(attrs.dockerOrg, (s) => s.toLowerCase());
  let org: string | null = null;
  if (orgs.length > 1) {
    problems.push({
      code: 'AMBIGUOUS_ATTRIBUTE',
      message: `dockerOrg has several values (${orgs.map((o) => preview(o)).join(', ')}); the extension names one organization`,
      advice: 'give the user one dockerOrg and use org:team groups for memberships in other organizations',
    });
  } else if (orgs.length === 1) {
    const o = orgs[0] as string;
    if (isValidOrg(o)) org = o;
    else
      problems.push({
        code: 'INVALID_ORG',
        message: `dockerOrg ${preview(o)} is not a valid Docker organization name`,
        advice: 'use the organization name exactly as Docker shows it (lowercase letters, digits, and . _ - between them)',
      });
  }

  const teams = distinct(attrs.dockerTeam);
  for (const t of teams) {
    if (!isValidTeam(t))
      problems.push({
        code: 'INVALID_TEAM',
        message: `dockerTeam ${preview(t)} is not a valid team name`,
        advice: 'use letters, digits, and . _ - between them (no spaces, no colon)',
      });
  }
  if (problems.length > 0) return problems;

  const targetOrg = org ?? policy.defaultOrg;
  const settled = conflict ? { roleConflict: conflict } : {};
  if (teams.length > 0) {
    return { role, org: targetOrg, team: teams[0] as string, teams: teams.map((t) => `${targetOrg}:${t}`).sort(), row: org === null ? 3 : 4, ...settled };
  }
  if (org !== null) return { role, org: targetOrg, team: null, teams: [], row: 2, ...settled };
  const dt = policy.defaultTeam;
  return { role, org: targetOrg, team: dt, teams: dt ? [`${targetOrg}:${dt}`] : [], row: 1, ...settled };
}

function isRole(r: string): r is DockerRole {
  return (DOCKER_ROLES as readonly string[]).includes(r);
}

/** Docker's roles by rank: owner above editor above member. */
const RANK: Readonly<Record<DockerRole, number>> = { member: 0, editor: 1, owner: 2 };

function highestRole(roles: readonly DockerRole[]): DockerRole {
  let best: DockerRole = 'member';
  for (const r of roles) if (RANK[r] > RANK[best]) best = r;
  return best;
}

export type GroupName = { readonly org: string; readonly team: string; readonly key: string };

/**
 * An IdP group named `org:team` becomes a membership of that team. Names without a colon are not
 * team groups (they only grant the app); names with a colon that do not parse are reported.
 */
export function parseTeamGroup(name: string): GroupName | 'not-a-team-group' | RuleProblem {
  if (!name.includes(':')) return 'not-a-team-group';
  const parts = name.split(':');
  const bad = (why: string): RuleProblem => ({
    code: 'INVALID_TEAM',
    message: `group ${preview(name)} is not a valid org:team name: ${why}`,
    advice: 'rename the group to <organization>:<team>, e.g. acme:backend; its members are synced without that team until then',
  });
  if (parts.length !== 2) return bad('it has more than one colon');
  const org = (parts[0] as string).trim().toLowerCase();
  const team = (parts[1] as string).trim();
  if (!isValidOrg(org)) return bad(`${preview(parts[0] as string)} is not a valid organization name`);
  if (!isValidTeam(team)) return bad(`${preview(parts[1] as string)} is not a valid team name`);
  return { org, team, key: `${org}:${team}` };
}
