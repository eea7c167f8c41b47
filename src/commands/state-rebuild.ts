import { existsSync, renameSync } from 'node:fs';
import { mapSnapshot } from '../mapping/map.ts';
import { planRebuild, type RebuildPlan } from '../reconcile/rebuild.ts';
import { createDockerClient, createSource, sourceIdentity } from '../run/factory.ts';
import { StateError } from '../state/errors.ts';
import { openState } from '../state/open.ts';
import type { CommandContext } from './context.ts';

/**
 * `state rebuild`: the way out of a lost or corrupt state file. Reads the IdP and Docker (both
 * complete, or nothing happens), re-links each IdP user to the Docker account with their userName,
 * and writes a fresh state file. A healthy file is replaced only with --force; the old file is
 * always kept beside the new one. With --dry-run it shows what it would do and writes nothing.
 */
export interface RebuildOptions {
  dryRun?: boolean;
  force?: boolean;
  format?: 'text' | 'json';
}

export async function stateRebuildCommand(ctx: CommandContext, opts: RebuildOptions): Promise<number> {
  const { config, logger } = ctx;
  const path = config.state.db;
  const existing = inspectExisting(path);
  if (existing.kind === 'healthy' && existing.links > 0 && !opts.force && !opts.dryRun) {
    throw new StateError(
      `the state file ${path} is readable and links ${existing.links} accounts; rebuilding would replace those links`,
      'run `state rebuild --dry-run` to compare, and `state rebuild --force` to rebuild anyway (the current file is kept as a .bak copy)',
    );
  }

  const [snapshot, observed] = await Promise.all([createSource(config, logger).read(), createDockerClient(config, logger).snapshot()]);
  const desired = mapSnapshot(snapshot, { defaultOrg: config.docker.defaultOrg, defaultTeam: config.docker.defaultTeam });
  const plan = planRebuild(desired, observed);
  process.stdout.write(ctx.scrub(opts.format === 'json' ? `${JSON.stringify({ dryRun: opts.dryRun === true, stateFile: path, existing: existing.kind, ...plan }, null, 2)}\n` : describe(plan, path, existing, opts.dryRun === true)));
  if (opts.dryRun) return 0;

  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  if (existing.kind !== 'missing') {
    const aside = `${path}.${existing.kind === 'healthy' ? 'bak' : 'corrupt'}-${stamp}`;
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(path + suffix)) renameSync(path + suffix, aside + suffix);
    logger.warn({ file: aside }, `kept the previous state file as ${aside}`);
  }
  const state = openState({ path });
  try {
    const release = state.acquireRunLock('state rebuild');
    try {
      state.setMeta('source', sourceIdentity(config));
      const runId = state.startRun(config.source, false);
      state.replaceLinks(runId, plan.links);
      state.finishRun(runId, 'succeeded', null);
      logger.info({ links: plan.links.length, runId }, 'state rebuilt from Docker by userName');
    } finally {
      release();
    }
  } finally {
    state.close();
  }
  return 0;
}

type Existing = { kind: 'missing' } | { kind: 'healthy'; links: number } | { kind: 'unreadable'; why: string };

function inspectExisting(path: string): Existing {
  if (!existsSync(path)) return { kind: 'missing' };
  try {
    const s = openState({ path, dryRun: true });
    try {
      return { kind: 'healthy', links: s.linkCount() };
    } finally {
      s.close();
    }
  } catch (err) {
    return { kind: 'unreadable', why: err instanceof Error ? err.message : String(err) };
  }
}

function describe(plan: RebuildPlan, path: string, existing: Existing, dryRun: boolean): string {
  const lines = [
    `state rebuild${dryRun ? ' --dry-run (nothing is written)' : ''} · ${path}`,
    `  current file: ${existing.kind === 'healthy' ? `readable, ${existing.links} links` : existing.kind === 'missing' ? 'none' : `unreadable (${existing.why})`}`,
    `  ${plan.links.length} IdP users re-linked to the Docker account with their userName`,
    `  ${plan.toCreate.length} active IdP users have no Docker account: the next sync creates them`,
    `  ${plan.unmanaged.length} Docker accounts no IdP user claims: they stay unmanaged`,
    ...(plan.held ? [`  ${plan.held} IdP users held for bad records: not linked; the next sync reports them`] : []),
    '',
    ...plan.links.map((l) => `  link  ${l.userName.padEnd(40)} ${l.dockerId}  (IdP ${l.idpId})${l.applied.active ? '' : '  inactive'}`),
    ...plan.toCreate.map((u) => `  new   ${u}`),
    '',
    dryRun ? 'Run without --dry-run to write the new state file; then `sync --dry-run` shows what the next sync does.' : 'Done. Run `sync --dry-run` to see what the next sync does.',
    '',
  ];
  return lines.join('\n');
}
