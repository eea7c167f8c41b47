import { cmp } from '../mapping/map.ts';
import type { DockerUser } from '../model/docker.ts';
import type { Finding } from '../model/finding.ts';
import type { Link } from '../model/link.ts';
import type { UserOperation } from '../model/plan.ts';

/**
 * Never lock an org out. Docker's guide warns "don't remove the only organization owner": an org
 * whose last owner is deactivated, demoted or moved away has nobody left who can manage it, SSO
 * and this tool's token included. So the planner keeps one owner in every org where its plan would
 * leave none: a demotion keeps the owner role (the rest of the change still goes), a deactivation
 * or a move to another org is blocked. Forced (`--force-last-owner`), the change goes with a
 * warning: an admin who means to hand the org over can.
 *
 * Who counts as an owner: an active account whose role is owner, as Docker echoes it or, where
 * Docker does not echo the extension (undocumented whether it does), as this tool last wrote it.
 * An account whose role is unknown does not count, and neither do promotions in the same plan,
 * which run beside the demotions and may fail: counting too few owners holds a change that was
 * safe; counting too many could lock the org out.
 *
 * The role is unknown only for an account this tool never wrote on a connection that does not
 * echo the extension: adopting it writes a role, and it may be the org's owner. Such an adoption
 * to another role goes only when the org has an owner this tool can see; otherwise it is blocked
 * until it has (the IdP giving that person dockerRole=owner also lets it go, as a promotion).
 */

export interface OwnerGuardInput {
  /** The user operations after the deactivation guard (whatever it blocked will not run). */
  readonly operations: readonly UserOperation[];
  /** Docker's accounts as this run saw them, by id (the planner's LinkView has them so). */
  readonly accountById: ReadonlyMap<string, DockerUser>;
  readonly linkByDocker: ReadonlyMap<string, Link>;
  /**
   * Whether `accounts` is all of Docker. An incremental run that only looked some accounts up
   * cannot count the other owners: every owner it would remove waits for a run that lists Docker.
   */
  readonly complete: boolean;
  readonly force: boolean;
}

export interface OwnerGuarded {
  readonly operations: UserOperation[];
  readonly findings: Finding[];
}

/** A change to an account that exists: every user operation but a create. */
type AccountOperation = Exclude<UserOperation, { kind: 'create' }>;

export function guardLastOwners(input: OwnerGuardInput): OwnerGuarded {
  /** The org (lowercased) the account is an active owner of, or null. */
  const ownedOrg = (account: DockerUser): string | null => {
    if (!account.active) return null;
    const applied = input.linkByDocker.get(account.id)?.applied;
    const role = account.role !== undefined ? account.role : (applied?.role ?? null);
    const org = account.org !== undefined ? account.org : (applied?.org ?? null);
    // Docker's role names are matched without case (a role echoed as "Owner" is an owner).
    return role?.toLowerCase() === 'owner' && org ? org.toLowerCase() : null;
  };

  const byId = input.accountById;

  // The operations that would leave an owner of their org no more: by org, in a stable order.
  const losing = new Map<string, AccountOperation[]>();
  const unseen: AccountOperation[] = [];
  for (const op of input.operations) {
    if (op.kind === 'create' || op.blocked) continue;
    const account = byId.get(op.dockerId);
    if (!account) continue;
    if (op.kind === 'adopt' && roleUnseen(account, input.linkByDocker) && op.target.role !== 'owner') {
      unseen.push(op);
      continue;
    }
    const org = ownedOrg(account);
    if (!org || !losesOwner(op, org)) continue;
    const list = losing.get(org);
    if (list) list.push(op);
    else losing.set(org, [op]);
  }
  if (losing.size === 0 && unseen.length === 0) return { operations: [...input.operations], findings: [] };

  // Only now, with an owner at stake, a pass over every account to count each org's owners: a run
  // that removes no owner (nearly every run) does not pay for it at 100,000 accounts.
  const owners = new Map<string, number>();
  for (const a of byId.values()) {
    const org = ownedOrg(a);
    if (org) owners.set(org, (owners.get(org) ?? 0) + 1);
  }

  // The operations held back, with the org they keep an owner in (null: the account's role is unseen).
  const kept = new Map<string, string | null>();
  const findings: Finding[] = [];
  for (const op of unseen) {
    const org = op.target.org.toLowerCase();
    if (input.force || (input.complete && (owners.get(org) ?? 0) > (losing.get(org)?.length ?? 0))) continue;
    kept.set(op.id, null);
    findings.push(lastOwner(op, 'error', `Docker does not show the role of account ${op.userName}, and org ${org} has no other owner this tool can see; adopting it as ${op.target.role} could remove the org's last owner, so the adoption is held`, `if ${op.userName} owns the org, give them dockerRole=owner in the IdP; otherwise make another account an owner first, or run once with --force-last-owner`));
  }
  for (const [org, ops] of losing) {
    if (input.complete && (owners.get(org) ?? 0) > ops.length) continue;
    ops.sort((a, b) => cmp(a.userName.toLowerCase(), b.userName.toLowerCase()) || cmp(a.id, b.id));
    // With all of Docker seen, keeping one is enough; without, none can be let go.
    const keep = input.complete ? ops.slice(0, 1) : ops;
    for (const op of keep) {
      const what = describeLoss(op);
      if (input.force) {
        findings.push(lastOwner(op, 'warning', `${what} leaves Docker org ${org} without an owner this tool can see; applied anyway because of --force-last-owner`, 'make sure someone can still manage the org in Docker'));
        continue;
      }
      kept.set(op.id, org);
      findings.push(
        input.complete
          ? lastOwner(op, 'error', `${op.userName} is the last owner of Docker org ${org}; ${what} is held so the org keeps an owner`, 'make another account an owner of the org first (in Docker, or with dockerRole=owner in the IdP), or run once with --force-last-owner')
          : lastOwner(op, 'error', `${op.userName} is an owner of Docker org ${org}; ${what} waits for a run that lists Docker and can count the org's other owners`, 'nothing to do: the next full run, or the next run that lists Docker (VERIFY_EVERY), decides'),
      );
    }
  }

  const operations: UserOperation[] = [];
  for (const op of input.operations) {
    const org = kept.get(op.id);
    if (org === undefined) operations.push(op);
    else {
      const guarded = keepOwner(op, org);
      if (guarded) operations.push(guarded);
    }
  }
  return { operations, findings };
}

/** Neither Docker's answer nor a link of this tool's says what role the account has. */
function roleUnseen(account: DockerUser, linkByDocker: ReadonlyMap<string, Link>): boolean {
  return (account.role === undefined || account.role === null) && linkByDocker.get(account.id) === undefined;
}

function losesOwner(op: AccountOperation, org: string): boolean {
  return !op.target.active || op.target.role !== 'owner' || op.target.org.toLowerCase() !== org;
}

function describeLoss(op: AccountOperation): string {
  if (!op.target.active) return 'their deactivation';
  if (op.target.role !== 'owner') return `the change of their role to ${op.target.role}`;
  return `their move to org ${op.target.org}`;
}

/**
 * The operation with the owner kept: a demotion goes without its role change (their name or team
 * still syncs), an update left with nothing to change goes altogether; a deactivation or a move to
 * another org is blocked, since keeping them an owner there would not be the same change at all.
 */
function keepOwner(op: UserOperation, org: string | null): UserOperation | null {
  if (op.kind === 'create') return op;
  // An account whose role is unseen: nothing to keep it as, so the adoption waits.
  if (org === null) return { ...op, blocked: 'last-owner' };
  if (!op.target.active || op.target.org.toLowerCase() !== org) return { ...op, blocked: 'last-owner' };
  const changes = op.changes.filter((c) => c.field !== 'role');
  if (op.kind === 'update' && changes.length === 0) return null;
  return { ...op, changes, target: { ...op.target, role: 'owner' }, reason: `${op.reason}; the role stays owner, as the org's last owner` };
}

function lastOwner(op: AccountOperation, severity: 'error' | 'warning', message: string, advice: string): Finding {
  return { code: 'LAST_OWNER', severity, subject: op.userName, idpId: op.idpId, dockerId: op.dockerId, message, advice };
}
