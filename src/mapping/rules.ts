import { DOCKER_ROLES, type DockerRole } from '../model/docker.ts';
import { isValidOrg, isValidTeam, preview } from './validate.ts';

/**
 * Docker's role/org/team rules for user-level attributes (reference docker-scim.md §6):
 *
 * | dockerOrg | dockerTeam | result                                   |
 * |-----------|------------|------------------------------------------|
 * | –         | –          | default org + default team               |
 * | set       | –          | that org, no team                        |
 * | –         | set        | default org + that team (not the default)|
 * | set       | set        | that org + that team                     |
 *
 * dockerRole is the role, `member` when unset. Pure: no I/O, no clock.
 */

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

export function placeUser(attrs: RawAttributes, defaults: RuleDefaults): Placement | RuleProblem[] {
  const problems: RuleProblem[] = [];

  // Roles and org names are lowercase in Docker; "Editor" from a hand-typed attribute means editor.
  const roles = distinct(attrs.dockerRole, (s) => s.toLowerCase());
  let role: DockerRole = 'member';
  if (roles.length > 1) {
    problems.push({
      code: 'AMBIGUOUS_ATTRIBUTE',
      message: `dockerRole has several values (${roles.map((r) => preview(r)).join(', ')}); a user has one role`,
      advice: 'give the user a single dockerRole in the IdP',
    });
  } else if (roles.length === 1) {
    const r = roles[0] as string;
    if ((DOCKER_ROLES as readonly string[]).includes(r)) role = r as DockerRole;
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

  const targetOrg = org ?? defaults.defaultOrg;
  if (teams.length > 0) {
    return { role, org: targetOrg, team: teams[0] as string, teams: teams.map((t) => `${targetOrg}:${t}`).sort() };
  }
  if (org !== null) return { role, org: targetOrg, team: null, teams: [] };
  const dt = defaults.defaultTeam;
  return { role, org: targetOrg, team: dt, teams: dt ? [`${targetOrg}:${dt}`] : [] };
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
