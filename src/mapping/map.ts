import type { DesiredState, DesiredUser } from '../model/desired.ts';
import type { Finding } from '../model/finding.ts';
import type { IdpSnapshot, IdpUser } from '../model/idp.ts';
import { sortByKeys } from '../util/sort.ts';
import { connectionOf, isOrgInScope, isVerifiedDomain, type MappingPolicy } from './policy.ts';
import { parseTeamGroup, placeUser } from './rules.ts';
import { MAX_EMAIL_LENGTH, MAX_NAME_LENGTH, hasControlCharacters, isValidEmail, preview } from './validate.ts';

/**
 * Applies Docker's rules to a whole IdP snapshot. Every bad record becomes a finding and its user
 * is held (neither changed nor deactivated); the rest proceed. So does a user outside what Docker's
 * SSO connection covers (an unverified domain, another organization): a finding before any write,
 * not a Docker error after it. Pure: no I/O, no clock.
 */
export function mapSnapshot(snapshot: IdpSnapshot, policy: MappingPolicy): DesiredState {
  const findings: Finding[] = [];
  const held: string[] = [];
  const deprovisioned: string[] = [];

  // Team groups first, so a malformed group is reported once, not once per member.
  const memberCount = new Map<string, number>();
  // Loops that make nothing for the 98 % of users in no group: this runs over 100,000 users.
  for (const u of snapshot.users) {
    if (u.groups.length === 0) continue;
    for (const g of u.groups.length === 1 ? u.groups : new Set(u.groups)) memberCount.set(g, (memberCount.get(g) ?? 0) + 1);
  }
  const teamOfGroup = new Map<string, string | null>();
  /** A group that makes no team: its members sync without it, and the report says so once. */
  const noTeam = (name: string, code: 'MALFORMED_GROUP' | 'ORG_OUT_OF_SCOPE', message: (members: string) => string, advice: string) => {
    teamOfGroup.set(name, null);
    const n = memberCount.get(name) ?? 0;
    findings.push({ code, severity: 'warning', subject: name, message: message(`${n} member${n === 1 ? '' : 's'}`), advice });
  };
  for (const name of new Set([...snapshot.groups.map((g) => g.name), ...memberCount.keys()])) {
    const parsed = parseTeamGroup(name);
    if (parsed === 'not-a-team-group') teamOfGroup.set(name, null);
    else if ('code' in parsed) noTeam(name, 'MALFORMED_GROUP', (members) => `${parsed.message} (${members})`, parsed.advice);
    else if (!isOrgInScope(parsed.org, policy.orgs)) {
      // A team of an organization this connection does not cover: Docker would refuse it, and it is
      // not this tool's to manage.
      noTeam(
        name,
        'ORG_OUT_OF_SCOPE',
        (members) => `group ${preview(name)} is a team of organization ${parsed.org}, which this connection does not cover (DOCKER_ORGS: ${(policy.orgs ?? []).join(', ')}); its ${members} sync without that team`,
        `add ${parsed.org} to DOCKER_ORGS if this SSO connection covers it; otherwise provision that organization's teams through its own connection`,
      );
    } else teamOfGroup.set(name, parsed.key);
  }

  const mapped: DesiredUser[] = [];
  for (const user of snapshot.users) {
    const result = mapUser(user, policy, teamOfGroup, findings);
    if (!('problems' in result)) mapped.push(result);
    else if (!user.active) deprovisioned.push(user.idpId);
    else {
      held.push(user.idpId);
      findings.push(...result.problems);
    }
  }

  // Docker compares userNames case-insensitively: two active IdP users differing only in case would
  // fight over one account. Neither is synced until the IdP is fixed; neither is deactivated
  // meanwhile. Inactive ones do not count: an old deprovisioned account and its successor with the
  // same email is an ordinary leaver-and-rehire, which the planner resolves in the new one's favour.
  const byName = new Map<string, DesiredUser | DesiredUser[]>();
  const users: DesiredUser[] = [];
  for (const u of mapped) {
    if (!u.active) {
      users.push(u);
      continue;
    }
    // One user a name, as a rule: an array only for the rare name two users share.
    const k = u.userName.toLowerCase();
    const seen = byName.get(k);
    if (seen === undefined) byName.set(k, u);
    else if (Array.isArray(seen)) seen.push(u);
    else byName.set(k, [seen, u]);
  }
  for (const entry of byName.values()) {
    if (!Array.isArray(entry)) {
      users.push(entry);
      continue;
    }
    const group = [...entry].sort((a, b) => cmp(a.idpId, b.idpId));
    for (const u of group) {
      held.push(u.idpId);
      const others = group.filter((o) => o !== u).map((o) => `${o.userName} (${o.idpId})`);
      findings.push({
        code: 'DUPLICATE_USERNAME',
        severity: 'error',
        subject: u.userName,
        idpId: u.idpId,
        message: `${u.userName} (${u.idpId}) has the same userName as ${others.join(', ')} apart from letter case; Docker treats them as one account`,
        advice: 'give each person a distinct email in the IdP (or unassign the stale account); none of them is changed until then',
      });
    }
  }

  sortByKeys(users, (u) => [u.userName.toLowerCase(), u.idpId]);
  held.sort();
  deprovisioned.sort();
  const connection = connectionOf(policy);
  return { users, held, deprovisioned, findings: findings.sort(byFinding), ...(connection ? { connection } : {}) };
}

/** One user; `notes` receives what is worth knowing about a user who is mapped all the same. */
function mapUser(
  user: IdpUser,
  policy: MappingPolicy,
  teamOfGroup: ReadonlyMap<string, string | null>,
  notes: Finding[],
): DesiredUser | { problems: Finding[] } {
  const problems: Finding[] = [];
  const subject = user.userName?.trim() || user.idpId;
  const finding = (code: Finding['code'], message: string, advice: string): Finding => ({
    code,
    severity: 'error',
    subject,
    idpId: user.idpId,
    message,
    advice,
  });

  // A value of the wrong type is not guessed at (a number is no org, "true" is no boolean): the
  // user is held until the IdP sends what the field can hold.
  for (const bad of user.illTyped ?? []) {
    problems.push(finding('ILL_TYPED_VALUE', `${bad.field} is ${bad.value}, but it must be ${bad.expected}; not read as anything`, `fix ${bad.field} in the IdP (check the attribute's type in the app's schema or mapping)`));
  }

  const userName = user.userName?.trim() ?? '';
  if (userName === '') {
    problems.push(finding('MISSING_EMAIL', `IdP user ${user.idpId} has no email to use as Docker userName${user.note ? ` (${user.note})` : ''}`, 'give the user an email address in the IdP'));
  } else if (userName.length > MAX_EMAIL_LENGTH) {
    problems.push(finding('VALUE_TOO_LONG', `userName is ${userName.length} characters; email addresses stop at ${MAX_EMAIL_LENGTH}`, 'fix the email address in the IdP'));
  } else if (!isValidEmail(userName)) {
    problems.push(finding('INVALID_EMAIL', `userName ${preview(userName)} is not a valid email address`, 'Docker needs a reachable email as userName; fix it in the IdP'));
  }

  const names: Array<[string, string | null]> = [
    ['givenName', user.givenName],
    ['familyName', user.familyName],
  ];
  for (const [field, value] of names) {
    if (value === null) continue;
    if (value.length > MAX_NAME_LENGTH) {
      problems.push(finding('VALUE_TOO_LONG', `${field} is ${value.length} characters (limit ${MAX_NAME_LENGTH}): ${preview(value)}`, `shorten ${field} in the IdP; it is not truncated silently`));
    } else if (hasControlCharacters(value)) {
      problems.push(finding('INVALID_NAME', `${field} ${preview(value)} contains control characters`, `remove line breaks and control characters from ${field} in the IdP`));
    }
  }

  const placement = placeUser(user, policy);
  if (Array.isArray(placement)) for (const p of placement) problems.push(finding(p.code, p.message, p.advice));
  if (problems.length > 0 || Array.isArray(placement)) return { problems };

  // What the connection covers is asked of active users only: a leaver outside it is deactivated
  // like any leaver (nothing is written to them but active:false), never kept on for a scope rule.
  if (user.active) {
    if (!isVerifiedDomain(userName, policy.verifiedDomains)) {
      problems.push(finding('UNVERIFIED_DOMAIN', `${userName}'s domain is not one of the domains verified on Docker's SSO connection (DOCKER_VERIFIED_DOMAINS: ${(policy.verifiedDomains ?? []).join(', ')}); SCIM cannot manage this user`, "verify the domain on Docker's SSO connection and add it to DOCKER_VERIFIED_DOMAINS, or give the user an address on a verified domain; nothing is written to this user until then"));
    }
    if (!isOrgInScope(placement.org, policy.orgs)) {
      problems.push(finding('ORG_OUT_OF_SCOPE', `the user's organization ${placement.org} is not one this connection covers (DOCKER_ORGS: ${(policy.orgs ?? []).join(', ')})`, `add ${placement.org} to DOCKER_ORGS if this SSO connection covers it, or fix the user's dockerOrg in the IdP; nothing is written to this user until then`));
    }
    if (problems.length > 0) return { problems };
  }

  if (placement.roleConflict) {
    notes.push({
      code: 'ROLE_CONFLICT_RESOLVED',
      severity: 'info',
      subject,
      idpId: user.idpId,
      message: `the user holds several roles (${placement.roleConflict.join(', ')}); ${placement.role}, the highest, is used (ENTRA_ROLE_CONFLICT=highest)`,
      advice: 'give the user one app role in Entra to make the choice explicit',
    });
  }

  const email = emailOf(user, userName, policy);
  return {
    idpId: user.idpId,
    userName,
    givenName: blankToNull(user.givenName),
    familyName: blankToNull(user.familyName),
    active: user.active,
    role: placement.role,
    org: placement.org,
    team: placement.team,
    teams: teamsOf(placement.teams, user.groups, teamOfGroup),
    ...(email !== null ? { email } : {}),
  };
}

/**
 * The address for Docker's `emails`, when it is not the userName: the IdP's own (Entra's `mail`),
 * unless ENTRA_EMAIL_SOURCE=userName. The source judges it (an invalid one never arrives: Entra
 * notes it and leaves it out), so an odd value here is only not sent, never a reason to hold.
 */
function emailOf(user: IdpUser, userName: string, policy: MappingPolicy): string | null {
  if (policy.emailSource === 'userName') return null;
  const email = user.email?.trim();
  if (!email || email.toLowerCase() === userName.toLowerCase() || !isValidEmail(email)) return null;
  return email;
}

/** The user's teams, sorted and each once: their own and their team groups'. */
function teamsOf(placed: readonly string[], groups: readonly string[], teamOfGroup: ReadonlyMap<string, string | null>): readonly string[] {
  // Most users are in their default team and no team group: no set for them (placeUser made
  // their list for them alone).
  if (groups.length === 0 && placed.length <= 1) return placed;
  const teams = new Set(placed);
  for (const g of groups) {
    const key = teamOfGroup.get(g);
    if (key) teams.add(key);
  }
  return [...teams].sort();
}

function blankToNull(v: string | null): string | null {
  const t = v?.trim();
  return t ? t : null;
}

/** Plain code-unit order: the same everywhere, whatever the locale. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 } as const;

/** Errors first, then by code and subject, so two runs over the same data print the same report. */
export function byFinding(a: Finding, b: Finding): number {
  return (
    SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
    cmp(a.code, b.code) ||
    cmp(a.subject.toLowerCase(), b.subject.toLowerCase()) ||
    cmp(a.idpId ?? '', b.idpId ?? '') ||
    cmp(a.message, b.message)
  );
}
