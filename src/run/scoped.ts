import type { DockerSnapshot } from '../model/docker.ts';
import { SourceReadError } from '../model/errors.ts';
import type { IdpSnapshot, ReadStats, ScopedRead, Source } from '../model/idp.ts';
import type { Link } from '../model/link.ts';
import type { TeamSync } from '../reconcile/capabilities.ts';
import type { PlanScope } from '../reconcile/plan.ts';
import type { StateStore } from '../state/store.ts';

/**
 * A run over some IdP users, not all: the users the change feed named (incremental) or those asked
 * for by email (targeted, `sync --user`). Their IdP records are read afresh; this is the part both
 * share after that read: the Docker accounts they have or name, the links that bear on them, and
 * the scope the planner keeps to.
 */

/** What a plan over some users was made from (`explain` reads it too). */
export interface ScopedView {
  readonly snapshot: IdpSnapshot;
  readonly observed: DockerSnapshot;
  readonly links: readonly Link[];
  /** Names of the groups the IdP read met, by id (ScopedRead.groupNames). */
  readonly groupNames: ReadonlyMap<string, string>;
  /** Docker's teams were read (team sync is on for this connection): none found then means none. */
  readonly teamsRead: boolean;
}

/**
 * Every user asked for comes back, as assigned or as unassigned. One missing from both would look
 * unassigned to the planner, and a linked one would be deactivated for a read that lost them.
 */
export function accountedFor(ids: readonly string[], read: ScopedRead, system: Source['kind']): void {
  const seen = new Set([...read.users.map((u) => u.idpId), ...read.unassigned]);
  const missing = ids.filter((id) => !seen.has(id));
  if (missing.length === 0) return;
  throw new SourceReadError(`${system}: the read of some users returned nothing for ${missing.length} of the ${ids.length} users it was asked for (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}); nothing was planned`, {
    system,
    operation: 'read the users the change feed named, or those asked for by email',
    hint: 'this is a bug in the source adapter or an answer the IdP should not give; the next full run (sync without --incremental) is not affected',
  });
}

/** The IdP side as a snapshot of just these users: no groups, since membership is on each user. */
export function scopedSnapshot(source: Source['kind'], read: ScopedRead, stats: ReadStats): IdpSnapshot {
  return { source, users: read.users, groups: [], notes: read.notes, stats };
}

/**
 * The Docker side for these users: Docker's whole listing when the run made one (VERIFY_EVERY),
 * else a lookup of the accounts their links hold and of their userNames. With the links of the
 * accounts found by userName: one another user holds must be seen as held.
 */
export async function lookUpScoped(
  deps: { readonly state: StateStore; readonly docker: { lookup(ids: readonly string[], userNames: readonly string[], opts: { groups: boolean }): Promise<DockerSnapshot> } },
  ctx: { readonly teams: TeamSync; readonly reads: { dockerMs: number } },
  ids: readonly string[],
  read: ScopedRead,
  listed: { readonly observed: DockerSnapshot; readonly links: readonly Link[] } | null,
): Promise<{ observed: DockerSnapshot; links: readonly Link[] }> {
  if (listed) return listed;
  const { state } = deps;
  const own = state.linksFor(ids, []);
  const userNames = [...read.users.flatMap((u) => (u.userName ? [u.userName] : [])), ...own.map((l) => l.userName)];
  const t1 = performance.now();
  // Nothing to reconcile asks Docker nothing more: the discovery that opened the run showed it answers.
  const observed = ids.length ? await deps.docker.lookup(own.map((l) => l.dockerId), userNames, { groups: ctx.teams.sync }) : { users: [], groups: [] };
  ctx.reads.dockerMs = Math.round(performance.now() - t1);
  return { observed, links: state.linksFor(ids, observed.users.map((u) => u.id)) };
}

/** What the planner keeps to: these users; the deactivation share counted on the links' last applied state. */
export function planScope(state: StateStore, ids: readonly string[], managed: number, dockerListed: boolean): PlanScope {
  // With nobody to reconcile there is nothing to guard: the count (a pass over every link) is skipped.
  return { idpIds: new Set(ids), managedActive: ids.length ? state.activeLinkCount() : managed, managed, dockerListed };
}
