import { byFinding } from '../mapping/map.ts';
import type { DesiredState, DesiredUser } from '../model/desired.ts';
import type { DockerSnapshot, DockerUser } from '../model/docker.ts';
import type { Finding } from '../model/finding.ts';
import type { SourceKind } from '../model/idp.ts';
import type { Link } from '../model/link.ts';
import {
  OPERATION_KINDS,
  PLAN_SCHEMA_VERSION,
  formatValue,
  subjectOf,
  type AdoptOperation,
  type BlockReason,
  type Change,
  type CreateOperation,
  type Operation,
  type OperationKind,
  type Plan,
  type UpdateOperation,
} from '../model/plan.ts';
import { currentState, deactivationAttributes, diffUser, targetAttributes, type CurrentState } from './diff.ts';
import { judgeSafety } from './safety.ts';
import { planTeams, type ManagedMember } from './teams.ts';

/**
 * The planner: desired × stored links × observed Docker → Plan. A pure function (no I/O, no clock,
 * no randomness), so the same inputs always give the same plan, in the same order.
 *
 * The rules it keeps (DESIGN.md invariants):
 * - only linked accounts, or accounts adopted in this plan as their own listed operation, change;
 * - accounts no assigned IdP user claims are reported as unmanaged and never touched;
 * - a held IdP user (assigned, but with a bad record) is never deactivated;
 * - deactivations beyond the thresholds are planned but blocked.
 */

export interface PlanOptions {
  readonly adoptExisting: boolean;
  readonly deactivate: boolean;
  readonly maxDeactivations: number;
  readonly maxDeactivationPercent: number;
  readonly force: boolean;
}

export interface PlanInput {
  readonly source: SourceKind;
  /** Users the IdP listed (valid or not), for the counts and the empty-read guard. */
  readonly idpUsers: number;
  readonly desired: DesiredState;
  readonly links: readonly Link[];
  readonly observed: DockerSnapshot;
  readonly options: PlanOptions;
  /** Findings from earlier stages (source notes, interrupted runs) to carry into the report. */
  readonly findings?: readonly Finding[];
}

const SOURCE_NAME: Record<SourceKind, string> = { okta: 'Okta', entra: 'Entra ID' };

export function buildPlan(input: PlanInput): Plan {
  const { desired, links, observed, options } = input;
  const idp = SOURCE_NAME[input.source];
  const findings: Finding[] = [...desired.findings, ...(input.findings ?? [])];
  const userOps: Array<CreateOperation | AdoptOperation | UpdateOperation> = [];
  const members: ManagedMember[] = [];

  const observedById = new Map(observed.users.map((u) => [u.id, u]));
  const observedByName = new Map<string, DockerUser>();
  for (const u of observed.users) if (!observedByName.has(u.userName.toLowerCase())) observedByName.set(u.userName.toLowerCase(), u);
  const linkByIdp = new Map(links.map((l) => [l.idpId, l]));
  const linkByDocker = new Map(links.map((l) => [l.dockerId, l]));
  const desiredIds = new Set(desired.users.map((u) => u.idpId));
  const activeIds = new Set(desired.users.filter((u) => u.active).map((u) => u.idpId));
  const held = new Set(desired.held);
  const deprovisioned = new Set(desired.deprovisioned);
  /** Docker ids this plan keeps or brings under management (adopted or re-linked). */
  const claimed = new Set<string>();

  /** The IdP still wants this person to have access, or cannot say because their record is bad. */
  const wantsAccess = (idpId: string) => activeIds.has(idpId) || held.has(idpId);

  // Links whose account now answers for another userName than the one this tool last wrote and
  // the one the IdP wants: someone else's account now (or an id Docker reused). Worked out before
  // the main pass, so no user is refused that account as "already linked to someone".
  const disowned = new Set<string>();
  const desiredById = new Map(desired.users.map((u) => [u.idpId, u]));
  for (const l of links) {
    // A held user's link is frozen with everything else about them until their record is fixed.
    if (held.has(l.idpId)) continue;
    const account = observedById.get(l.dockerId);
    const d = desiredById.get(l.idpId);
    if (account && !answersFor(account, l.userName, d?.userName ?? l.userName)) disowned.add(account.id);
  }

  // Linked accounts this plan renames away from their current userName (an email handed on): the
  // user who has that userName now waits one run for it, with a finding instead of an error.
  const vacating = new Set<string>();
  for (const l of links) {
    const account = observedById.get(l.dockerId);
    const d = desiredById.get(l.idpId);
    if (account && d?.active && !disowned.has(account.id) && account.userName.toLowerCase() !== d.userName.toLowerCase()) vacating.add(account.id);
  }

  // Active users first: an active user may take over the account of an inactive one with the same
  // userName (a leaver and their rehire), and the inactive one must then not deactivate it.
  const ordered = [...desired.users.filter((u) => u.active), ...desired.users.filter((u) => !u.active)];
  for (const d of ordered) {
    const link = linkByIdp.get(d.idpId);
    let linked = link ? observedById.get(link.dockerId) : undefined;

    // The linked id now answers for another userName than the one this tool last wrote and the
    // one the IdP wants: it is someone else's account now (or Docker reused the id). It is not
    // touched; this user is re-linked by userName or re-created, as if the account were gone.
    if (link && linked && disowned.has(linked.id)) {
      findings.push({
        code: 'LINKED_ACCOUNT_CHANGED',
        severity: 'warning',
        subject: d.userName,
        idpId: d.idpId,
        dockerId: linked.id,
        message: `the Docker account this tool linked (${linked.id}) now has userName ${linked.userName}, not ${link.userName}; it is no longer treated as this user's account and is left alone`,
        advice: 'check who changed the account in Docker; the plan re-links this user by userName or re-creates the account',
      });
      linked = undefined;
    }

    if (link && linked) {
      if (claimed.has(linked.id)) continue;
      claimed.add(linked.id);
      const current = currentState(linked, link.applied);
      planLinked(d, link, linked, current);
      continue;
    }

    let gone = '';
    if (link && !observedById.has(link.dockerId)) {
      gone = `the linked Docker account ${link.dockerId} (${link.userName}) no longer exists; `;
      findings.push({
        code: 'LINKED_ACCOUNT_GONE',
        severity: 'warning',
        subject: d.userName,
        idpId: d.idpId,
        dockerId: link.dockerId,
        message: `the Docker account this tool linked (${link.dockerId}) is gone from Docker`,
        advice: d.active ? 'nothing to do: the plan re-creates the account, or adopts one with the same userName' : 'nothing to do: the user is inactive in the IdP',
      });
    }

    const candidate = observedByName.get(d.userName.toLowerCase());
    if (!candidate) {
      if (d.active) {
        const target = targetAttributes(d, null, true);
        userOps.push({
          id: `create:${d.idpId}`,
          kind: 'create',
          idpId: d.idpId,
          userName: d.userName,
          target,
          reason: gone ? `${gone}re-creating it` : `assigned to the Docker app in ${idp}; no Docker account has this userName`,
        });
        members.push({ idpId: d.idpId, userName: d.userName, dockerId: null, teams: d.teams });
      }
      continue;
    }

    const owner = disowned.has(candidate.id) ? undefined : linkByDocker.get(candidate.id);
    const heldByOther = owner !== undefined && owner.idpId !== d.idpId && wantsAccess(owner.idpId);
    if (claimed.has(candidate.id) || heldByOther) {
      // Another user of this plan keeps or takes this account. If that user's rename is moving the
      // email away (an email handed on), this one waits a run for it; otherwise two IdP users claim
      // one account, which only the IdP can settle.
      if (vacating.has(candidate.id) || !heldByOther) {
        if (d.active) {
          findings.push({
            code: 'USERNAME_PENDING',
            severity: 'info',
            subject: d.userName,
            idpId: d.idpId,
            dockerId: candidate.id,
            message: `the userName is still held by Docker account ${candidate.id}, which this run keeps for another IdP user or renames; this user is created on the next run`,
            advice: 'nothing to do; if it persists, two IdP users share this email',
          });
        }
      } else {
        findings.push({
          code: 'USERNAME_CONFLICT',
          severity: 'error',
          subject: d.userName,
          idpId: d.idpId,
          dockerId: candidate.id,
          message: `Docker account ${candidate.userName} is already linked to IdP user ${owner?.idpId}, who is still assigned`,
          advice: 'two IdP users claim one Docker account: fix the email of one of them in the IdP',
        });
      }
      continue;
    }
    if (!d.active) {
      if (!owner) {
        findings.push({
          code: 'INACTIVE_UNLINKED',
          severity: 'info',
          subject: d.userName,
          idpId: d.idpId,
          dockerId: candidate.id,
          message: `inactive in ${idp}; the matching Docker account was never managed by this tool and is left as it is`,
          advice: 'deactivate it in Docker by hand if the person should lose access',
        });
      }
      continue;
    }

    // The account was linked to an IdP user who no longer wants access (unassigned, or inactive:
    // a leaver whose email a rehire now holds): the tool managed it already, so re-link without
    // asking. Any other existing account is an adoption, even when our own link lost its account:
    // the one with the same userName now is not the one this tool created.
    const relink = owner !== undefined;
    const current = currentState(candidate, owner?.applied ?? null);
    const target = targetAttributes(d, current, true);
    const changes = diffUser(current, target, null);
    if (!candidate.active) changes.unshift({ field: 'active', before: false, after: true });
    if (!relink && !options.adoptExisting) {
      const described = describeChanges(changes);
      findings.push({
        code: 'ADOPTABLE_ACCOUNT',
        severity: 'warning',
        subject: d.userName,
        idpId: d.idpId,
        dockerId: candidate.id,
        message: `an existing Docker account matches this assigned user and can be adopted${described ? `; adoption would change ${described}` : ''}`,
        advice: 'set ADOPT_EXISTING=true to link it and manage it from the IdP; until then it is not touched',
      });
      continue;
    }
    claimed.add(candidate.id);
    userOps.push({
      id: `adopt:${d.idpId}`,
      kind: 'adopt',
      idpId: d.idpId,
      dockerId: candidate.id,
      userName: d.userName,
      changes,
      target,
      reason: owner
        ? `this Docker account was linked to IdP user ${owner.idpId}, who is ${desiredIds.has(owner.idpId) || deprovisioned.has(owner.idpId) ? 'inactive' : 'no longer assigned'}; re-linking it to ${d.idpId}, the active user that now has its userName`
        : gone
          ? `${gone}adopting the other Docker account that has this userName (ADOPT_EXISTING=true)`
          : `an existing Docker account has this userName (created by hand or JIT); adopting it (ADOPT_EXISTING=true)`,
    });
    members.push({ idpId: d.idpId, userName: d.userName, dockerId: candidate.id, teams: d.teams });
  }

  function planLinked(d: DesiredUser, link: Link, docker: DockerUser, current: CurrentState): void {
    if (!d.active) {
      if (docker.active) userOps.push(deactivation(link, docker, current, `${d.userName} is inactive in ${idp} (disabled or deprovisioned)`));
      return;
    }
    let target = targetAttributes(d, current, true);
    const taken = observedByName.get(d.userName.toLowerCase());
    if (taken && taken.id !== docker.id) {
      // The new email already belongs to another Docker account: renaming would fail with 409 (or
      // worse, merge two people). Keep the old userName this run; everything else still syncs.
      target = { ...target, userName: docker.userName };
      findings.push(
        vacating.has(taken.id)
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
    members.push({ idpId: d.idpId, userName: d.userName, dockerId: docker.id, teams: d.teams });
    for (const c of changes.filter((x) => x.drift)) {
      findings.push({
        code: 'DRIFT',
        severity: 'warning',
        subject: d.userName,
        idpId: d.idpId,
        dockerId: docker.id,
        message: `Docker's ${c.field} is ${formatValue(c.before)} but this tool last applied ${formatValue(link.applied[c.field as keyof typeof link.applied] as string | null)}; it is set back to ${formatValue(c.after)}`,
        advice: 'something else writes to this account: disable JIT provisioning in Docker (recommended) or make the SSO attribute mapping match the IdP values',
      });
    }
    if (!docker.active) {
      const drift = link.applied.active;
      userOps.push({
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
      });
      if (drift) {
        findings.push({
          code: 'DRIFT',
          severity: 'warning',
          subject: d.userName,
          idpId: d.idpId,
          dockerId: docker.id,
          message: 'the Docker account was deactivated outside this tool while the IdP still assigns the user; it is reactivated',
          advice: 'deactivate people in the IdP, not in Docker, or this tool will undo it',
        });
      }
      return;
    }
    if (changes.length === 0) return;
    const drifted = changes.filter((c) => c.drift).map((c) => c.field);
    const fromIdp = changes.filter((c) => !c.drift).map((c) => c.field);
    const parts = [];
    if (fromIdp.length) parts.push(`changed in ${idp}: ${fromIdp.join(', ')}`);
    if (drifted.length) parts.push(`changed in Docker behind this tool's back: ${drifted.join(', ')}`);
    userOps.push({
      id: `update:${d.idpId}`,
      kind: 'update',
      idpId: d.idpId,
      dockerId: docker.id,
      userName: d.userName,
      changes,
      target,
      reason: parts.join('; '),
    });
  }

  function deactivation(link: Link, docker: DockerUser, current: CurrentState, reason: string): UpdateOperation {
    return {
      id: `deactivate:${link.idpId}`,
      kind: 'deactivate',
      idpId: link.idpId,
      dockerId: docker.id,
      userName: docker.userName,
      changes: [{ field: 'active', before: true, after: false }],
      target: deactivationAttributes(current, link.applied),
      reason,
    };
  }

  // Links whose IdP user is no longer assigned at all, or is inactive with a record too broken to map.
  for (const link of links) {
    if (desiredIds.has(link.idpId) || held.has(link.idpId)) continue;
    const docker = observedById.get(link.dockerId);
    if (!docker || claimed.has(docker.id)) continue;
    if (disowned.has(docker.id)) {
      // A leaver's account that now answers for someone else is not the leaver's to deactivate.
      findings.push({
        code: 'LINKED_ACCOUNT_CHANGED',
        severity: 'warning',
        subject: link.userName,
        idpId: link.idpId,
        dockerId: docker.id,
        message: `${link.userName} left the IdP, but the Docker account this tool linked (${docker.id}) now has userName ${docker.userName}; it is not deactivated`,
        advice: 'check who changed the account in Docker, and deactivate it by hand if it should be',
      });
      continue;
    }
    claimed.add(docker.id);
    const reason = deprovisioned.has(link.idpId)
      ? `inactive in ${idp} (disabled or deprovisioned); its IdP record has errors, which do not matter for a deactivation`
      : `no longer assigned to the Docker app in ${idp}`;
    if (docker.active) userOps.push(deactivation(link, docker, currentState(docker, link.applied), reason));
  }

  // Accounts nobody claims: reported, never touched.
  const mentioned = new Set(findings.map((f) => f.dockerId).filter((id): id is string => id !== undefined));
  for (const u of observed.users) {
    if (claimed.has(u.id) || linkByDocker.has(u.id) || mentioned.has(u.id)) continue;
    findings.push({
      code: 'UNMANAGED_ACCOUNT',
      severity: u.active ? 'warning' : 'info',
      subject: u.userName,
      dockerId: u.id,
      message: `${u.active ? 'active' : 'inactive'} Docker account that no user assigned in ${idp} claims (added by hand or by JIT); this tool never changes it`,
      advice: u.active ? 'assign the person to the Docker app in the IdP to manage them, or remove them in Docker by hand' : 'nothing to do',
    });
  }

  const managedTeams = new Set<string>();
  for (const d of desired.users) for (const t of d.teams) managedTeams.add(t);
  for (const l of links) for (const t of l.applied.teams) managedTeams.add(t);
  const teams = planTeams({ members, groups: observed.groups, managedTeams });
  const memberships = [...teams.satisfied]
    .map(([idpId, list]) => {
      const recorded = new Set((linkByIdp.get(idpId)?.applied.teams ?? []).map((t) => t.toLowerCase()));
      return { idpId, teams: list.filter((t) => !recorded.has(t.toLowerCase())).sort() };
    })
    .filter((m) => m.teams.length > 0)
    .sort((a, b) => (a.idpId < b.idpId ? -1 : a.idpId > b.idpId ? 1 : 0));

  const deactivations = userOps.filter((o) => o.kind === 'deactivate');
  // The share is of accounts this tool manages that are active now: long-gone leavers still have
  // links, and counting them would let a mass deactivation look small.
  const managedActive = links.filter((l) => observedById.get(l.dockerId)?.active === true).length;
  const safety = judgeSafety(deactivations.length, managedActive, input.idpUsers, options);
  const block: BlockReason | null = !options.deactivate ? 'deactivation-disabled' : safety.tripped && !options.force ? 'safety-threshold' : null;
  const finalUserOps = block
    ? userOps.map((o) => (o.kind === 'deactivate' ? { ...o, blocked: block } : o))
    : userOps;
  if (safety.tripped) {
    findings.push({
      code: 'SAFETY_THRESHOLD',
      severity: 'error',
      subject: 'deactivations',
      message: options.force ? `${safety.message}; applied anyway because of --force` : `${safety.message}; no deactivation is applied this run`,
      advice: options.force ? 'nothing to do' : 'review the plan; if the deactivations are right, run once with --force or raise the threshold',
    });
  }
  if (!options.deactivate && deactivations.length > 0) {
    findings.push({
      code: 'DEACTIVATION_DISABLED',
      severity: 'info',
      subject: 'deactivations',
      message: `${deactivations.length} deactivation${deactivations.length === 1 ? ' is' : 's are'} planned but not applied (DEACTIVATE=false)`,
      advice: 'set DEACTIVATE=true once the rollout is trusted',
    });
  }

  const operations: Operation[] = [...teams.groupCreates, ...finalUserOps, ...teams.adds, ...teams.removes].sort(byOperation);
  const opCounts = Object.fromEntries(OPERATION_KINDS.map((k) => [k, 0])) as Record<OperationKind, number>;
  for (const op of operations) opCounts[op.kind] += 1;
  findings.sort(byFinding);
  return {
    schemaVersion: PLAN_SCHEMA_VERSION,
    source: input.source,
    operations,
    memberships,
    findings,
    safety,
    counts: {
      idpUsers: input.idpUsers,
      desiredActive: desired.users.filter((u) => u.active).length,
      dockerUsers: observed.users.length,
      managed: links.length,
      operations: opCounts,
      blocked: operations.filter((o) => o.blocked).length,
      findings: {
        error: findings.filter((f) => f.severity === 'error').length,
        warning: findings.filter((f) => f.severity === 'warning').length,
        info: findings.filter((f) => f.severity === 'info').length,
      },
    },
  };
}

const KIND_ORDER = new Map(OPERATION_KINDS.map((k, i) => [k, i]));

/** Groups first, then users by kind, team changes, and deactivations last; alphabetical within. */
function byOperation(a: Operation, b: Operation): number {
  const k = (KIND_ORDER.get(a.kind) ?? 0) - (KIND_ORDER.get(b.kind) ?? 0);
  if (k !== 0) return k;
  const sa = subjectOf(a).toLowerCase();
  const sb = subjectOf(b).toLowerCase();
  return sa < sb ? -1 : sa > sb ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function answersFor(docker: DockerUser, lastApplied: string, wanted: string): boolean {
  const name = docker.userName.toLowerCase();
  return name === lastApplied.toLowerCase() || name === wanted.toLowerCase();
}


function describeChanges(changes: readonly Change[]): string {
  return changes.map((c) => `${c.field} ${formatValue(c.before)} → ${formatValue(c.after)}`).join(', ');
}
