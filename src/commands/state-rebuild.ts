import { copyFileSync, constants, existsSync, linkSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { decideTeamSync } from '../reconcile/capabilities.ts';
import type { Config } from '../config/types.ts';
import type { Logger } from '../logging/logger.ts';
import { mapSnapshot } from '../mapping/map.ts';
import { mappingPolicyOf } from '../run/observe.ts';
import type { LinkOrigin } from '../model/link.ts';
import { planRebuild, type RebuildPlan } from '../reconcile/rebuild.ts';
import { createDockerClient, createSource, sourceIdentity } from '../run/factory.ts';
import { StateError } from '../state/errors.ts';
import { openState } from '../state/open.ts';
import type { RunLockRelease, StateStore } from '../state/store.ts';
import type { CommandContext } from './context.ts';

/**
 * `state rebuild`: the way out of a lost or corrupt state file. Reads the IdP and Docker (both
 * complete, or nothing happens), re-links each IdP user to the Docker account with their userName,
 * and writes a fresh state file. A healthy file is replaced only with --force; the old file is
 * always kept beside the new one. With --dry-run it shows what it would do and writes nothing.
 *
 * It takes the same run lock as `sync` on the current file and holds it from before the reads until
 * the new file is in place, so no run changes Docker or the old file in between, and a file in use
 * (locked, busy, or open in another process) is never moved.
 */
export interface RebuildOptions {
  dryRun?: boolean;
  force?: boolean;
  /** Link the userName matches the state file has no proof of ownership for (ADOPT_EXISTING=false). */
  adoptUnproven?: boolean;
  format?: 'text' | 'json';
}

type Current =
  | { kind: 'missing' }
  | { kind: 'readable'; links: number; owned: ReadonlyMap<string, LinkOrigin>; store: StateStore | null; release: RunLockRelease | null }
  | { kind: 'unreadable'; why: string };

export async function stateRebuildCommand(ctx: CommandContext, opts: RebuildOptions): Promise<number> {
  const { config, logger } = ctx;
  const path = config.state.db;
  const dryRun = opts.dryRun === true;
  const current = dryRun ? peek(path, ctx.scrub) : lockCurrent(path, ctx.scrub);
  try {
    if (current.kind === 'readable' && current.links > 0 && !opts.force && !dryRun) {
      throw new StateError(
        `the state file ${path} is readable and links ${current.links} accounts; rebuilding would replace those links`,
        'run `state rebuild --dry-run` to compare, and `state rebuild --force` to rebuild anyway (the current file is kept as a .bak copy)',
        undefined,
        'unusable',
        'state rebuild',
      );
    }
    const docker = createDockerClient(config, logger);
    // A connection without teams (or DOCKER_TEAM_SYNC=off) is read without /Groups, as a sync reads it.
    const teams = decideTeamSync(await docker.discover(), config.docker.teamSync);
    const [snapshot, observed] = await Promise.all([createSource(config, logger).read(), docker.snapshot({ groups: teams.sync })]);
    // Mapped as a sync maps it: a user a sync holds (out of scope, say) is not linked either.
    const desired = mapSnapshot(snapshot, mappingPolicyOf(config));
    const owned = current.kind === 'readable' ? current.owned : new Map<string, LinkOrigin>();
    const plan = planRebuild(desired, observed, { owned, adoptExisting: config.sync.adoptExisting, adoptUnproven: opts.adoptUnproven === true });
    // The summary is printed once the new file is in place: "Done" must not precede a refusal.
    if (!dryRun) install(path, current, plan, config, logger, ctx.scrub);
    process.stdout.write(ctx.scrub(opts.format === 'json' ? `${JSON.stringify(asJson(plan, path, current, dryRun), null, 2)}\n` : describe(plan, path, current, dryRun, config.sync.adoptExisting, opts.adoptUnproven === true)));
    return 0;
  } finally {
    if (current.kind === 'readable') {
      letGo(current.release, logger);
      current.store?.close();
    }
  }
}

/** Releases the lock without hiding the error on its way out; a lock left behind is taken over once this process is gone. */
function letGo(release: RunLockRelease | null, logger: Logger): void {
  try {
    release?.();
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'could not release the run lock of the state file');
  }
}

/** --dry-run: a private copy of the current file, no lock (nothing will be written). */
function peek(path: string, scrub: (t: string) => string): Current {
  if (!existsSync(path)) return { kind: 'missing' };
  let s: StateStore;
  try {
    s = openState({ path, dryRun: true, scrub });
  } catch (err) {
    if (err instanceof StateError && err.reason === 'corrupt') return { kind: 'unreadable', why: err.message };
    throw err;
  }
  try {
    return { kind: 'readable', links: s.linkCount(), owned: s.ownership(), store: null, release: null };
  } finally {
    s.close();
  }
}

/**
 * Opens the current file for writing and takes the run lock, which is refused while a run holds
 * it. Only a file SQLite reports as corrupt counts as unreadable; one that is locked, busy, not
 * ours, or from a newer version is refused as it is. A corrupt file with a -wal or -shm beside it
 * may still be open in another process (a run keeps both while it works), so it is not moved either.
 */
function lockCurrent(path: string, scrub: (t: string) => string): Current {
  if (!existsSync(path)) return { kind: 'missing' };
  const beside = ['-wal', '-shm'].filter((s) => existsSync(path + s));
  let store: StateStore | null = null;
  let release: RunLockRelease | null = null;
  try {
    store = openState({ path, scrub });
    release = store.acquireRunLock('state rebuild');
    return { kind: 'readable', links: store.linkCount(), owned: store.ownership(), store, release };
  } catch (err) {
    try {
      release?.();
    } catch {
      // The error below is the one to tell; a lock left behind is taken over once this process is gone.
    }
    store?.close();
    if (!(err instanceof StateError) || err.reason !== 'corrupt') throw err;
    if (beside.length) {
      throw new StateError(
        `the state file ${path} is unreadable (${err.message}), but ${beside.map((s) => path + s).join(' and ')} beside it mean a process may still have it open; nothing was moved`,
        `make sure no docker-idp-sync uses this file (a daemon, a cron job, another container on the volume), then move ${path} and the files beside it aside yourself and run \`state rebuild\` again`,
        err,
        'busy',
        'state rebuild',
      );
    }
    return { kind: 'unreadable', why: err.message };
  }
}

/**
 * Writes the new file beside the current one, then swaps it in. The current file stays locked by
 * this process until then: the lock is a row inside it, which closing the connection keeps. After
 * the close, a -wal still beside the file means another connection has it open, and nothing is
 * replaced. The swap is a rename over the path, so there is never a moment without a state file
 * in which a starting run could create an empty one.
 */
function install(path: string, current: Current, plan: RebuildPlan, config: Config, logger: Logger, scrub: (t: string) => string): void {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const fresh = `${path}.rebuild-${stamp}`;
  const discard = () => {
    for (const suffix of ['', '-wal', '-shm']) rmSync(fresh + suffix, { force: true });
  };
  try {
    const next = openState({ path: fresh, scrub });
    try {
      next.setMeta('source', sourceIdentity(config));
      const runId = next.startRun(config.source, false);
      next.replaceLinks(runId, plan.links);
      next.finishRun(runId, 'succeeded', null);
    } finally {
      next.close();
    }
  } catch (err) {
    discard();
    throw err;
  }

  if (current.kind === 'missing') {
    try {
      // link() fails if a file appeared meanwhile (a run started on a missing file): never clobber it.
      linkSync(fresh, path);
    } catch (err) {
      discard();
      throw new StateError(`could not put the rebuilt state file at ${path}: ${(err as Error).message}`, 'if a docker-idp-sync run started meanwhile, let it finish, then run `state rebuild` again', err, 'busy', 'state rebuild');
    }
    unlinkSync(fresh);
    logger.info({ links: plan.links.length }, 'state rebuilt from Docker by userName');
    return;
  }

  const token = current.kind === 'readable' ? current.release?.token : undefined;
  if (current.kind === 'readable') {
    // Close, keeping the lock row: closing checkpoints the WAL into the file and removes it, unless
    // another connection still has the file open.
    current.store?.close();
    current.store = null;
    current.release = null;
  }
  const open = ['-wal', '-shm'].filter((s) => existsSync(path + s));
  if (open.length) {
    discard();
    if (token) unlock(path, token, scrub);
    throw new StateError(
      `another process has the state file ${path} open (${open.map((s) => path + s).join(', ')} remained after this process closed it); nothing was replaced`,
      'stop the other docker-idp-sync using this file (a daemon, a cron job, another container on the volume), then run `state rebuild` again',
      undefined,
      'busy',
      'state rebuild',
    );
  }
  const aside = `${path}.${current.kind === 'readable' ? 'bak' : 'corrupt'}-${stamp}`;
  keepAside(path, aside);
  try {
    renameSync(fresh, path);
  } catch (err) {
    discard();
    rmSync(aside, { force: true });
    if (token) unlock(path, token, scrub);
    throw new StateError(`could not put the rebuilt state file at ${path}: ${(err as Error).message}`, 'check that the folder is writable; the current file was left in place', err, 'unwritable', 'state rebuild');
  }
  // The copy kept aside still names this rebuild as the lock holder; clear it so that restoring
  // the copy gives a usable file. If that fails, the lock is taken over anyway once this process is gone.
  if (token) {
    try {
      unlock(aside, token, scrub);
    } catch (err) {
      logger.warn({ file: aside, err: (err as Error).message }, 'could not clear the run lock in the copy kept aside');
    }
  }
  logger.warn({ file: aside }, `kept the previous state file as ${aside}`);
  logger.info({ links: plan.links.length }, 'state rebuilt from Docker by userName');
}

/** A second name for the file (a hard link: no copy, no moment without it), or a copy where links are not allowed. */
function keepAside(path: string, aside: string): void {
  try {
    linkSync(path, aside);
  } catch {
    copyFileSync(path, aside, constants.COPYFILE_EXCL);
  }
}

function unlock(path: string, token: string, scrub: (t: string) => string): void {
  const s = openState({ path, scrub });
  try {
    s.releaseRunLock(token);
  } finally {
    s.close();
  }
}

function counts(plan: RebuildPlan): { proven: number; adopted: number } {
  const proven = plan.links.filter((l) => l.proven).length;
  return { proven, adopted: plan.links.length - proven };
}

function asJson(plan: RebuildPlan, path: string, current: Current, dryRun: boolean): Record<string, unknown> {
  return { dryRun, stateFile: path, existing: current.kind === 'readable' ? 'healthy' : current.kind, ...counts(plan), ...plan };
}

function describe(plan: RebuildPlan, path: string, current: Current, dryRun: boolean, adoptExisting: boolean, adoptUnproven: boolean): string {
  const { proven, adopted } = counts(plan);
  const why = adoptUnproven ? 'confirmed with --adopt-unproven' : 'ADOPT_EXISTING=true: a sync would adopt them too';
  const lines = [
    `state rebuild${dryRun ? ' --dry-run (nothing is written)' : ''} · ${path}`,
    `  current file: ${current.kind === 'readable' ? `readable, ${current.links} links` : current.kind === 'missing' ? 'none' : `unreadable (${current.why})`}`,
    `  ${plan.links.length} IdP users re-linked to the Docker account with their userName: ${proven} proven by the current state file (a link, or a creation in its journal), ${adopted} adopted without proof${adopted ? ` (${why})` : ''}`,
    ...(plan.unproven.length
      ? [`  ${plan.unproven.length} userName matches have no proof that this tool manages the account and are NOT linked (ADOPT_EXISTING=${adoptExisting}): check each, then run again with --adopt-unproven to link them`]
      : []),
    `  ${plan.toCreate.length} active IdP users have no Docker account: the next sync creates them`,
    `  ${plan.unmanaged.length} Docker accounts no IdP user claims: they stay unmanaged`,
    ...(plan.held ? [`  ${plan.held} IdP users held for bad records: not linked; the next sync reports them`] : []),
    '',
    ...plan.links.map((l) => `  link  ${l.userName.padEnd(40)} ${l.dockerId}  (IdP ${l.idpId})  ${l.proven ? l.origin : 'adopted, no proof'}${l.applied.active ? '' : '  inactive'}`),
    ...plan.unproven.map((u) => `  unproven  ${u.userName.padEnd(36)} ${u.dockerId}  (IdP ${u.idpId})  not linked`),
    ...plan.toCreate.map((u) => `  new   ${u}`),
    '',
    dryRun ? 'Run without --dry-run to write the new state file; then `sync --dry-run` shows what the next sync does.' : 'Done. Run `sync --dry-run` to see what the next sync does.',
    '',
  ];
  return lines.join('\n');
}
