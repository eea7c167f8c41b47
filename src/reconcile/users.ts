import type { DesiredUser } from '../model/desired.ts';
import type { DockerUser } from '../model/docker.ts';
import type { Finding } from '../model/finding.ts';
import type { Link } from '../model/link.ts';
import { formatValue, type AdoptOperation, type Change, type CreateOperation, type UpdateOperation, type UserOperation } from '../model/plan.ts';
import { currentState, diffUser, targetAttributes, type CurrentState } from './diff.ts';
import { matchAccount, type PhaseContext } from './match.ts';
import { inScope } from './roster.ts';
import type { ManagedMember } from './teams.ts';

/**
 * Phase 2 of the planner: users the IdP assigns and keeps active. Each gets their own account
 * updated or reactivated, an existing account with their userName adopted (or re-linked from a
 * leaver), or a new account; never an account another IdP user keeps.
 */

export interface UserStep {
  readonly operations: readonly UserOperation[];
  readonly findings: readonly Finding[];
  /** Users this plan keeps active, with their desired teams, for the team phase. */
  readonly members: readonly ManagedMember[];
  /** Docker ids this user keeps or brings under management; later users may not take them. */
  readonly claims: readonly string[];
}

export interface AssignedPlan {
  readonly operations: readonly UserOperation[];
  readonly findings: readonly Finding[];
  readonly members: readonly ManagedMember[];
  /** Docker ids this plan keeps or brings under management (adopted or re-linked). */
  readonly claimed: ReadonlySet<string>;
}

export interface AssignedOptions {
  readonly adoptExisting: boolean;
}

/**
 * Plans the users in the order given; each sees the accounts the users before it claimed, so two
 * users who want one account are settled in favour of the first.
 */
export function planAssignedUsers(users: readonly DesiredUser[], ctx: PhaseContext, options: AssignedOptions): AssignedPlan {
  const operations: UserOperation[] = [];
  const findings: Finding[] = [];
  const members: ManagedMember[] = [];
  const claimed = new Set<string>();
  // Loops, not spreads: at 100,000 users nearly every step is one member and nothing else.
  for (const d of users) {
    const step = planAssignedUser(d, ctx, options, claimed);
    for (const op of step.operations) operations.push(op);
    for (const f of step.findings) findings.push(f);
    for (const m of step.members) members.push(m);
    for (const id of step.claims) claimed.add(id);
  }
  return { operations, findings, members, claimed };
}

/** One active user (phase 3 plans the inactive ones), given the accounts claimed before them. */
export function planAssignedUser(d: DesiredUser, ctx: PhaseContext, options: AssignedOptions, claimed: ReadonlySet<string>): UserStep {
  const match = matchAccount(d, ctx, claimed);
  switch (match.kind) {
    case 'linked': {
      const step = planLinked(d, match.link, match.account, currentState(match.account, match.link.applied), ctx);
      return { operations: step.operations, findings: match.findings.length ? [...match.findings, ...step.findings] : step.findings, members: step.members, claims: [match.account.id] };
    }
    case 'no-account': {
      const create: CreateOperation = {
        id: `create:${d.idpId}`,
        kind: 'create',
        idpId: d.idpId,
        userName: d.userName,
        target: targetAttributes(d, null, true),
        reason: match.gone ? `${match.gone}re-creating it` : `assigned to the Docker app in ${ctx.idp}; no Docker account has this userName`,
      };
      return {
        operations: [create],
        findings: match.findings,
        // The account exists only once the create succeeds; its teams wait for it.
        members: [{ idpId: d.idpId, userName: d.userName, dockerId: null, fromOperation: create.id, teams: d.teams, ...(create.target.team !== null ? { placedIn: `${create.target.org}:${create.target.team}` } : {}) }],
        claims: [],
      };
    }
    case 'existing':
      return planExisting(d, match.account, match.owner, match.gone, match.findings, ctx, options);
    case 'linked-claimed':
    case 'name-taken':
      return { operations: [], findings: match.findings, members: [], claims: [] };
  }
}

/** The user's own linked account: bring it in line with the IdP, reactivating it if need be. */
function planLinked(d: DesiredUser, link: Link, docker: DockerUser, current: CurrentState, ctx: PhaseContext): Omit<UserStep, 'claims'> {
  const { idp, view } = ctx;
  const findings: Finding[] = [];
  let target = targetAttributes(d, current, true);
  const taken = view.accountByName.get(d.userName.toLowerCase());
  if (taken && taken.id !== docker.id) {
    // The new email already belongs to another Docker account: renaming would fail with 409 (or
    // worse, merge two people). Keep the old userName this run; everything else still syncs.
    target = { ...target, userName: docker.userName };
    findings.push(
      view.vacating.has(taken.id)
        ? {
            code: 'USERNAME_PENDING',
            severity: 'info',
            subject: d.userName,
            idpId: d.idpId,
            dockerId: docker.id,
            message: `${docker.userName} becomes ${d.userName} on the next run: this run renames account ${taken.id}, which still has that userName, for another IdP user`,
            advice: 'nothing to do',
          }
        : {
            code: 'USERNAME_CONFLICT',
            severity: 'error',
            subject: d.userName,
            idpId: d.idpId,
            dockerId: docker.id,
            message: `${docker.userName} was renamed to ${d.userName} in ${idp}, but another Docker account (${taken.id}) already has that userName; the rename is not sent`,
            advice: 'remove or rename the other Docker account, or give the IdP user a different email',
          },
    );
  }
  const changes = diffUser(current, target, link.applied);
  const members: ManagedMember[] = [{ idpId: d.idpId, userName: d.userName, dockerId: docker.id, teams: d.teams, recorded: link.applied.teams }];
  for (const c of changes) {
    if (!c.drift) continue;
    findings.push({
      code: 'DRIFT',
      severity: 'warning',
      subject: d.userName,
      idpId: d.idpId,
      dockerId: docker.id,
      field: c.field,
      message: `Docker's ${c.field} is ${formatValue(c.before)} but this tool last applied ${formatValue(lastApplied(link, c.field))}; it is set back to ${formatValue(c.after)}`,
      advice: 'something else writes to this account: disable JIT provisioning in Docker (recommended) or make the SSO attribute mapping match the IdP values',
    });
  }
  if (!docker.active) {
    const drift = link.applied.active;
    const reactivate: UpdateOperation = {
      id: `reactivate:${d.idpId}`,
      kind: 'reactivate',
      idpId: d.idpId,
      dockerId: docker.id,
      userName: d.userName,
      changes: [{ field: 'active', before: false, after: true, ...(drift ? { drift: true } : {}) }, ...changes],
      target,
      reason: drift
        ? `active in ${idp}, but the Docker account was deactivated outside this tool; reactivating`
        : `assigned and active in ${idp} again`,
    };
    if (drift) {
      findings.push({
        code: 'DRIFT',
        severity: 'warning',
        subject: d.userName,
        idpId: d.idpId,
        dockerId: docker.id,
        field: 'active',
        message: 'the Docker account was deactivated outside this tool while the IdP still assigns the user; it is reactivated',
        advice: 'deactivate people in the IdP, not in Docker, or this tool will undo it',
      });
    }
    return { operations: [reactivate], findings, members };
  }
  if (changes.length === 0) return { operations: [], findings, members };
  const drifted = changes.filter((c) => c.drift).map((c) => c.field);
  const fromIdp = changes.filter((c) => !c.drift).map((c) => c.field);
  const parts = [];
  if (fromIdp.length) parts.push(`changed in ${idp}: ${fromIdp.join(', ')}`);
  if (drifted.length) parts.push(`changed in Docker behind this tool's back: ${drifted.join(', ')}`);
  const update: UpdateOperation = {
    id: `update:${d.idpId}`,
    kind: 'update',
    idpId: d.idpId,
    dockerId: docker.id,
    userName: d.userName,
    changes,
    target,
    reason: parts.join('; '),
  };
  return { operations: [update], findings, members };
}

/**
 * An account with the user's userName that nobody else keeps. If it was linked to an IdP user who
 * no longer wants access (unassigned, or inactive: a leaver whose email a rehire now holds), the
 * tool managed it already, so it is re-linked without asking. Any other existing account is an
 * adoption, even when our own link lost its account: the one with the same userName now is not
 * the one this tool created.
 */
function planExisting(
  d: DesiredUser,
  candidate: DockerUser,
  owner: Link | undefined,
  gone: string,
  matchFindings: readonly Finding[],
  ctx: PhaseContext,
  options: AssignedOptions,
): UserStep {
  const { roster } = ctx;
  const relink = owner !== undefined;
  const current = currentState(candidate, owner?.applied ?? null);
  const target = targetAttributes(d, current, true);
  const changes = diffUser(current, target, null);
  if (!candidate.active) changes.unshift({ field: 'active', before: false, after: true });
  if (!relink && !options.adoptExisting) {
    const described = describeChanges(changes);
    const adoptable: Finding = {
      code: 'ADOPTABLE_ACCOUNT',
      severity: 'warning',
      subject: d.userName,
      idpId: d.idpId,
      dockerId: candidate.id,
      message: `an existing Docker account matches this assigned user and can be adopted${described ? `; adoption would change ${described}` : ''}`,
      advice: 'set ADOPT_EXISTING=true to link it and manage it from the IdP; until then it is not touched',
    };
    return { operations: [], findings: [...matchFindings, adoptable], members: [], claims: [] };
  }
  const adopt: AdoptOperation = {
    id: `adopt:${d.idpId}`,
    kind: 'adopt',
    idpId: d.idpId,
    dockerId: candidate.id,
    userName: d.userName,
    changes,
    target,
    reason: owner
      ? `this Docker account was linked to IdP user ${owner.idpId}, who is ${!inScope(roster, owner.idpId) ? 'deactivated (by an earlier run)' : roster.byId.has(owner.idpId) || roster.deprovisioned.has(owner.idpId) ? 'inactive' : 'no longer assigned'}; re-linking it to ${d.idpId}, the active user that now has its userName`
      : gone
        ? `${gone}adopting the other Docker account that has this userName (ADOPT_EXISTING=true)`
        : `an existing Docker account has this userName (created by hand or JIT); adopting it (ADOPT_EXISTING=true)`,
  };
  return {
    operations: [adopt],
    findings: matchFindings,
    // Not this user's account until the adoption succeeds: a refused one leaves it unmanaged.
    members: [{ idpId: d.idpId, userName: d.userName, dockerId: candidate.id, fromOperation: adopt.id, teams: d.teams }],
    claims: [candidate.id],
  };
}

/** What this tool last wrote to a field; for `email`, no address of its own means the userName. */
function lastApplied(link: Link, field: Change['field']): string | boolean | null {
  if (field === 'email') return link.applied.email ?? link.applied.userName;
  return link.applied[field];
}

function describeChanges(changes: readonly Change[]): string {
  return changes.map((c) => `${c.field} ${formatValue(c.before)} → ${formatValue(c.after)}`).join(', ');
}
