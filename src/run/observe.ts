import type { Config } from '../config/types.ts';
import type { Logger } from '../logging/logger.ts';
import { parseTeamGroup } from '../mapping/rules.ts';
import type { DockerCapabilities, DockerSnapshot } from '../model/docker.ts';
import { FeedExpiredError } from '../model/errors.ts';
import type { Finding } from '../model/finding.ts';
import type { ChangeFeed, IdpSnapshot, ScopedRead, Source } from '../model/idp.ts';
import type { Plan } from '../model/plan.ts';
import { driftedLinks } from '../reconcile/drift.ts';
import { decideTeamSync, type TeamSync } from '../reconcile/capabilities.ts';
import { recoverInterrupted } from '../reconcile/recover.ts';
import { findRenames, frozenTeams, renameFindings, sourcesToRecord } from '../reconcile/team-renames.ts';
import type { StateStore } from '../state/store.ts';
import { chooseCoverage, incrementalLimit, type RunMode } from './coverage.ts';
import { makePlan, sourceFindings } from './make-plan.ts';
import { accountedFor, lookUpScoped, planScope, scopedSnapshot, type ScopedView } from './scoped.ts';
import { observeTargeted, type Targets } from './targeted.ts';

export { mappingPolicyOf } from './make-plan.ts';
export { accountedFor } from './scoped.ts';

/**
 * The first half of a run: read both sides, recover what a crash left in flight, map, plan. Two
 * ways, decided before anything is read (run/coverage.ts):
 * - full: everyone assigned in the IdP and every Docker account; the source of truth;
 * - incremental: the users the IdP's change feed names since the last run, read afresh, and only
 *   the Docker accounts they have or name (or all of Docker, every VERIFY_EVERY, with the accounts
 *   that drifted added to the users read).
 * And a third, asked for by name: targeted (`sync --user`, `explain`), the users with the emails
 * given, reconciled as an incremental run reconciles its users, the feed untouched (run/targeted.ts).
 * An incremental run that finds it cannot follow the feed (expired cursor, a group assigned to the
 * app, too many users) does a full read instead and says why. Either way, both reads finish before
 * anything is planned, and a read that fails stops the run (invariants 1 and 11).
 */

export interface DockerReader {
  /**
   * What the connection offers, in a few small reads: sent first by every run, so one that has
   * nothing to reconcile still fails at once when Docker is down or refuses the token.
   */
  discover(): Promise<DockerCapabilities>;
  snapshot(opts: { groups: boolean }): Promise<DockerSnapshot>;
  /** The accounts with these ids and userNames, and every team (an incremental run's Docker read). */
  lookup(ids: readonly string[], userNames: readonly string[], opts: { groups: boolean }): Promise<DockerSnapshot>;
}

export interface ObserveDeps {
  readonly config: Config;
  readonly source: Source;
  readonly docker: DockerReader;
  readonly state: StateStore;
}

export interface ObserveOptions {
  readonly mode: RunMode;
  /** `sync --user`, `explain`: these users only, whatever `mode` says (run/targeted.ts). */
  readonly targets?: Targets;
  readonly reviewed: boolean;
  readonly noDeactivate: boolean;
  readonly force: boolean;
  readonly forceLastOwner?: boolean;
  readonly signal: AbortSignal | undefined;
  readonly now: Date;
}

/** How long each side's complete read took, for the daemon's read-duration metric. */
export interface ReadTimes {
  idpMs: number;
  dockerMs: number;
}

/** What to write to the state file's feed mark once the run has applied everything. */
export interface FeedAdvance {
  readonly cursor: string | null;
  readonly fullAt?: string;
  readonly verifiedAt?: string;
}

export interface Observed {
  readonly plan: Plan;
  readonly recovered: string[];
  /** Absent when the feed stays where it was (a run with no feed that never had one). */
  readonly feed?: FeedAdvance;
  /** What the state file keeps of this run for the next ones, once it has applied its plan. */
  readonly memory: RunMemory;
  /** A targeted run's reads, for `explain`. */
  readonly view?: ScopedView;
}

/** See StateStore.recordDrift and recordTeamSources. */
export interface RunMemory {
  /** The users whose Docker accounts this run looked at; null: all of them (Docker was listed). */
  readonly looked: ReadonlySet<string> | null;
  /** What a full run records of which IdP group makes which team (IdP group id → org:team); null: nothing this run. */
  readonly teamSources: ReadonlyMap<string, string> | null;
}

export interface Ctx {
  readonly runId: string;
  readonly log: Logger;
  readonly reads: ReadTimes;
  /** Called when the reads are done and planning starts (the cost meter's phase mark). */
  readonly readDone: () => void;
}

/** Ctx with what this run found Docker's connection offers. */
export interface RunCtx extends Ctx {
  readonly teams: TeamSync;
}

export async function observeAndPlan(deps: ObserveDeps, opts: ObserveOptions, base: Ctx): Promise<Observed> {
  const { config, state, source } = deps;
  const teams = decideTeamSync(await deps.docker.discover(), config.docker.teamSync);
  if (!teams.sync) base.log.warn({ reason: teams.reason }, `team sync is skipped: ${teams.reason}; users are still synced`);
  const ctx: RunCtx = { ...base, teams };
  if (opts.targets) return observeTargeted(deps, opts.targets, opts, ctx);
  const feed = source.feed;
  const mark = state.feedMark();
  const coverage = chooseCoverage({
    requested: opts.mode,
    hasFeed: feed !== undefined,
    mark,
    now: opts.now,
    fullSyncEveryMs: config.sync.fullSyncEveryMs,
    verifyEveryMs: config.sync.verifyEveryMs,
    interrupted: opts.mode === 'incremental' && state.interruptedWrites().length > 0,
    reviewed: opts.reviewed,
  });
  let fullReason = coverage.mode === 'full' ? coverage.reason : undefined;
  let listing: Promise<DockerSnapshot> | undefined;
  if (coverage.mode === 'incremental' && feed) {
    const outcome = await incremental(deps, feed, { ...coverage, retry: mark.retry }, opts, ctx);
    if ('plan' in outcome) return outcome;
    fullReason = outcome.fallback;
    // A Docker listing the incremental run started (VERIFY_EVERY) serves the full read too.
    listing = outcome.listing;
  }
  if (fullReason) ctx.log.info({ reason: fullReason }, `reading everything: ${fullReason}`);
  // A cursor is kept only where incremental runs are wanted: asked for now, or followed before,
  // and not turned off (FULL_SYNC_EVERY=0: no feed request, no FEED_UNAVAILABLE warning).
  const keepCursor = feed !== undefined && config.sync.fullSyncEveryMs > 0 && (opts.mode === 'incremental' || mark.cursor !== null);
  return full(deps, opts, ctx, keepCursor ? feed : undefined, fullReason, listing);
}

async function full(deps: ObserveDeps, opts: ObserveOptions, ctx: RunCtx, feed: ChangeFeed | undefined, fullReason: string | undefined, listing: Promise<DockerSnapshot> | undefined): Promise<Observed> {
  const { config, state } = deps;
  const { runId, log, reads } = ctx;
  const extra: Finding[] = [];
  // Docker's listing does not wait for the feed's cursor: only the IdP read must start after it.
  const dockerRead = timed(listing ?? deps.docker.snapshot({ groups: ctx.teams.sync }), reads, 'dockerMs');
  // A failed listing is seen below; until then it must not count as unhandled.
  dockerRead.catch(() => {});
  // The cursor is taken before the IdP read, so what changes while it runs is read again by the
  // next incremental run. A feed that cannot be read (a token without okta.logs.read, say) does
  // not stop the full run; it only keeps the next ones full, and says so.
  let cursor: string | null = null;
  if (feed) {
    try {
      cursor = await feed.start(opts.signal);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log.warn({ err: message }, 'the change feed could not be read; runs stay full until it can');
      extra.push({
        code: 'FEED_UNAVAILABLE',
        severity: 'warning',
        subject: 'change feed',
        message: `incremental runs are not possible: ${message}`,
        advice: 'give the IdP credentials read access to the change feed (Okta: okta.logs.read; Entra: User.Read.All and GroupMember.Read.All), or set FULL_SYNC_EVERY=0',
      });
    }
  }
  log.info({ source: config.source }, 'reading the IdP and Docker');
  const [snapshot, observed] = await Promise.all([timed(deps.source.read(opts.signal), reads, 'idpMs'), dockerRead]);
  ctx.readDone();
  log.info(
    { idpUsers: snapshot.users.length, idpGroups: snapshot.groups.length, idpRequests: snapshot.stats.requests, dockerUsers: observed.users.length, dockerGroups: observed.groups.length },
    'read complete',
  );

  const before = state.links();
  const interrupted = state.interruptedWrites();
  // Nothing in flight, as after almost every run: no indexes of 100,000 accounts and links to build.
  const recovery = interrupted.length
    ? recoverInterrupted(interrupted, observed, new Set(before.map((l) => l.dockerId)), new Set(before.map((l) => l.idpId)))
    : { links: [], abandoned: [] };
  // In a dry run the store is an in-memory copy, so recording the recovery there shows its effect
  // in the plan without touching the file.
  if (recovery.links.length || recovery.abandoned.length) state.recordRecovery(recovery, runId);
  const links = recovery.links.length ? state.links() : before;
  for (const l of recovery.links) log.warn({ idpId: l.idpId, dockerId: l.dockerId, op: l.opId, interruptedRun: l.runId }, `recovered link for ${l.userName}: the interrupted ${l.origin === 'created' ? 'create' : 'adopt'} had reached Docker`);

  // Team groups renamed in the IdP since the last full run, still under their old name in Docker.
  const current = ctx.teams.sync ? teamSourcesOf(snapshot) : null;
  const recorded = current ? state.teamSources() : null;
  const renames = current && recorded ? findRenames({ current, recorded, dockerTeams: observed.groups.map((g) => g.displayName) }) : [];
  for (const r of renames) log.warn({ group: r.groupId, from: r.from, to: r.to }, `team group renamed in the IdP: ${r.from} → ${r.to}; both teams are left alone until Docker has the new name`);
  const plan = makePlan(deps, opts, {
    snapshot,
    links,
    observed,
    teams: ctx.teams,
    findings: [...sourceFindings(snapshot), ...recoveryFindings(recovery.links.length, recovery.abandoned.length), ...renameFindings(renames), ...extra],
    ...(renames.length ? { frozenTeams: frozenTeams(renames) } : {}),
    ...(current ? { teamSources: new Map([...current].map(([groupId, team]) => [team.toLowerCase(), groupId])) } : {}),
    ...(fullReason ? { fullReason } : {}),
  });
  log.info({ operations: plan.operations.length, findings: plan.findings.length, safety: plan.safety.tripped ? 'tripped' : 'ok' }, 'plan ready');
  const at = opts.now.toISOString();
  const memory: RunMemory = { looked: null, teamSources: current && recorded ? sourcesToRecord(current, recorded, renames) : null };
  return { plan, recovered: recovery.links.map((l) => l.userName), memory, ...(feed ? { feed: { cursor, ...(cursor !== null ? { fullAt: at } : {}), verifiedAt: at } } : {}) };
}

type IncrementalOutcome = Observed | { readonly fallback: string; readonly listing?: Promise<DockerSnapshot> };

async function incremental(
  deps: ObserveDeps,
  feed: ChangeFeed,
  coverage: { cursor: string; listDocker: boolean; retry: readonly string[] },
  opts: ObserveOptions,
  ctx: RunCtx,
): Promise<IncrementalOutcome> {
  const { state, docker } = deps;
  const { log, reads } = ctx;
  const managed = state.linkCount();
  const t0 = performance.now();
  // Docker is listed whole while the feed is read, when it is time to look for drift.
  const listing = coverage.listDocker ? timed(docker.snapshot({ groups: ctx.teams.sync }), reads, 'dockerMs') : null;
  // A failed listing is seen below; until then it must not count as unhandled.
  listing?.catch(() => {});
  let changes;
  try {
    changes = await feed.changesSince(coverage.cursor, { isManaged: (id) => state.hasLink(id), maxUsers: incrementalLimit(managed) }, opts.signal);
  } catch (err) {
    if (err instanceof FeedExpiredError) return { fallback: `the change feed's cursor is no longer valid (${err.message})`, ...(listing ? { listing } : {}) };
    throw err;
  }
  if (changes.fullReadNeeded) return { fallback: changes.fullReadNeeded, ...(listing ? { listing } : {}) };

  const listed = listing ? await listing : null;
  const allLinks = listed ? state.links() : null;
  const drifted = listed && allLinks ? driftedLinks(allLinks, listed, { teamsKnown: ctx.teams.sync }) : [];
  // And whom the last run left unfinished: the feed has moved past the changes that named them.
  const retry = coverage.retry;
  const ids = [...new Set([...changes.userIds, ...drifted, ...retry])];
  if (drifted.length) log.info({ drifted: drifted.length }, `${drifted.length} managed account${drifted.length === 1 ? '' : 's'} changed in Docker since this tool last wrote ${drifted.length === 1 ? 'it' : 'them'}; reading ${drifted.length === 1 ? 'its user' : 'their users'} again`);
  if (ids.length > incrementalLimit(managed)) {
    return { fallback: `${ids.length} users to read again (${changes.userIds.length} named by the feed, ${drifted.length} drifted in Docker, ${retry.length} left unfinished by the last run): a full read is cheaper`, ...(listed ? { listing: Promise.resolve(listed) } : {}) };
  }

  const read: ScopedRead = ids.length ? await feed.readUsers(ids, opts.signal) : { users: [], unassigned: [], notes: [], stats: { requests: 0, pages: 0, durationMs: 0 } };
  accountedFor(ids, read, deps.source.kind);
  reads.idpMs = Math.round(performance.now() - t0);
  const snapshot: IdpSnapshot = scopedSnapshot(deps.source.kind, read, { requests: changes.stats.requests + read.stats.requests, pages: changes.stats.pages + read.stats.pages, durationMs: reads.idpMs });
  const { observed, links } = await lookUpScoped(deps, ctx, ids, read, listed && allLinks ? { observed: listed, links: allLinks } : null);
  ctx.readDone();
  log.info(
    { feedEntries: changes.entries, named: changes.userIds.length, drifted: drifted.length, retried: retry.length, idpUsers: read.users.length, unassigned: read.unassigned.length, idpRequests: snapshot.stats.requests, dockerUsers: observed.users.length, dockerListed: listed !== null },
    `incremental read: ${ids.length} user${ids.length === 1 ? '' : 's'} to reconcile`,
  );

  const plan = makePlan(deps, opts, {
    snapshot,
    links,
    observed,
    teams: ctx.teams,
    findings: sourceFindings(snapshot),
    scope: planScope(state, ids, managed, listed !== null),
  });
  log.info({ operations: plan.operations.length, findings: plan.findings.length, safety: plan.safety.tripped ? 'tripped' : 'ok' }, 'plan ready');
  return { plan, recovered: [], memory: { looked: listed ? null : new Set(ids), teamSources: null }, feed: { cursor: changes.next, ...(listed ? { verifiedAt: opts.now.toISOString() } : {}) } };
}

/** The org:team groups of a full read, by IdP id, as team keys (org lower-cased). */
function teamSourcesOf(snapshot: IdpSnapshot): Map<string, string> {
  const out = new Map<string, string>();
  for (const g of snapshot.groups) {
    const parsed = parseTeamGroup(g.name);
    if (typeof parsed === 'object' && 'key' in parsed) out.set(g.idpId, parsed.key);
  }
  return out;
}

async function timed<T>(work: Promise<T>, reads: ReadTimes, key: keyof ReadTimes): Promise<T> {
  const t0 = performance.now();
  const value = await work;
  reads[key] = Math.round(performance.now() - t0);
  return value;
}

function recoveryFindings(linked: number, abandoned: number): Finding[] {
  if (linked + abandoned === 0) return [];
  return [
    {
      code: 'INTERRUPTED_RUN',
      severity: 'warning',
      subject: 'journal',
      message: `a previous run was interrupted: ${linked} write${linked === 1 ? '' : 's'} that reached Docker ${linked === 1 ? 'was' : 'were'} re-linked, ${abandoned} unconfirmed write${abandoned === 1 ? ' is' : 's are'} recomputed by this plan`,
      advice: 'nothing to do; `docker-idp-sync status` shows the journal of the interrupted run',
    },
  ];
}
