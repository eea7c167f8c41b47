import type { DesiredUser } from '../model/desired.ts';
import type { DockerUser } from '../model/docker.ts';
import type { Finding } from '../model/finding.ts';
import type { Link } from '../model/link.ts';
import type { UpdateOperation } from '../model/plan.ts';
import { currentState, deactivationAttributes, type CurrentState } from './diff.ts';
import { matchAccount, type PhaseContext } from './match.ts';
import { inScope } from './roster.ts';

/**
 * Phase 3 of the planner: people who should lose access. Inactive IdP users (disabled or
 * deprovisioned) and links whose IdP user is no longer assigned get their linked account
 * deactivated: `active:false`, never a DELETE. A held user (assigned, but with a record too broken
 * to map) is never deactivated, and neither is an account an earlier phase claimed for an active
 * user (a rehire who took over a leaver's account).
 */

export interface LeaversPlan {
  readonly operations: readonly UpdateOperation[];
  readonly findings: readonly Finding[];
  /** The claimed Docker ids passed in, plus the leavers' own accounts. */
  readonly claimed: ReadonlySet<string>;
}

/** Inactive IdP users first, then links nobody in the IdP answers for any more. */
export function planLeavers(inactive: readonly DesiredUser[], ctx: PhaseContext, claimed: ReadonlySet<string>): LeaversPlan {
  const users = planInactiveUsers(inactive, ctx, claimed);
  const unassigned = planUnassignedLinks(ctx, users.claimed);
  return {
    operations: [...users.operations, ...unassigned.operations],
    findings: [...users.findings, ...unassigned.findings],
    claimed: unassigned.claimed,
  };
}

/** IdP users who are mapped but inactive (disabled or deprovisioned in the IdP). */
export function planInactiveUsers(users: readonly DesiredUser[], ctx: PhaseContext, claimed: ReadonlySet<string>): LeaversPlan {
  const operations: UpdateOperation[] = [];
  const findings: Finding[] = [];
  const taken = new Set(claimed);
  for (const d of users) {
    const match = matchAccount(d, ctx, taken);
    findings.push(...match.findings);
    if (match.kind === 'linked') {
      taken.add(match.account.id);
      if (match.account.active) {
        const current = currentState(match.account, match.link.applied);
        operations.push(deactivation(match.link, match.account, current, `${d.userName} is inactive in ${ctx.idp} (disabled or deprovisioned)`));
      }
    } else if (match.kind === 'existing' && !match.owner) {
      findings.push({
        code: 'INACTIVE_UNLINKED',
        severity: 'info',
        subject: d.userName,
        idpId: d.idpId,
        dockerId: match.account.id,
        message: `inactive in ${ctx.idp}; the matching Docker account was never managed by this tool and is left as it is`,
        advice: 'deactivate it in Docker by hand if the person should lose access',
      });
    }
  }
  return { operations, findings, claimed: taken };
}

/** Links whose IdP user is no longer assigned at all, or is inactive with a record too broken to map. */
export function planUnassignedLinks(ctx: PhaseContext, claimed: ReadonlySet<string>): LeaversPlan {
  const { idp, roster, view } = ctx;
  const operations: UpdateOperation[] = [];
  const findings: Finding[] = [];
  const taken = new Set(claimed);
  for (const link of view.links) {
    if (roster.byId.has(link.idpId) || roster.held.has(link.idpId)) continue;
    // An incremental run deactivates only whom it read and found unassigned (invariant 11).
    if (!inScope(roster, link.idpId)) continue;
    const docker = view.accountById.get(link.dockerId);
    if (!docker || taken.has(docker.id)) continue;
    if (view.disowned.has(docker.id)) {
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
    taken.add(docker.id);
    const reason = roster.deprovisioned.has(link.idpId)
      ? `inactive in ${idp} (disabled or deprovisioned); its IdP record has errors, which do not matter for a deactivation`
      : `no longer assigned to the Docker app in ${idp}`;
    if (docker.active) operations.push(deactivation(link, docker, currentState(docker, link.applied), reason));
  }
  return { operations, findings, claimed: taken };
}

/** Only `active` moves; the rest of what Docker holds is written back as it is. */
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
