import { openState } from '../state/open.ts';
import type { CommandContext } from './context.ts';

/**
 * `status`: managed users and recent runs, from the state file (read-only). Everything printed is
 * scrubbed, JSON included: run errors were scrubbed when stored, but a file written by an older
 * version, or before a secret was rotated into the configuration, may still hold one.
 */
export function statusCommand(ctx: CommandContext, opts: { limit?: number; format?: 'text' | 'json' }): number {
  const state = openState({ path: ctx.config.state.db, dryRun: true, scrub: ctx.scrub });
  try {
    const runs = state.recentRuns(opts.limit ?? 10);
    const links = state.links();
    const managed = { total: links.length, active: links.filter((l) => l.applied.active).length, created: links.filter((l) => l.origin === 'created').length, adopted: links.filter((l) => l.origin === 'adopted').length };
    if (opts.format === 'json') {
      process.stdout.write(ctx.scrub(`${JSON.stringify({ stateFile: ctx.config.state.db, source: state.getMeta('source'), managed, runs }, null, 2)}\n`));
      return 0;
    }
    const out = [
      `State file: ${ctx.config.state.db}`,
      `Bound to:   ${state.getMeta('source') ?? '(no run yet)'}`,
      `Managed:    ${managed.total} accounts (${managed.active} active; ${managed.created} created, ${managed.adopted} adopted)`,
      '',
      runs.length ? 'Recent runs' : 'No runs yet.',
    ];
    for (const r of runs) {
      const s = r.summary as { succeeded?: number; failed?: number; blocked?: number; recovered?: number } | null;
      const counts = s ? ` · ${s.succeeded ?? 0} ok, ${s.failed ?? 0} failed, ${s.blocked ?? 0} blocked${s.recovered ? `, ${s.recovered} recovered` : ''}` : '';
      out.push(`  ${r.id}  ${r.status.padEnd(11)} ${r.startedAt}${counts}${r.error ? ` · ${r.error}` : ''}`);
    }
    process.stdout.write(ctx.scrub(`${out.join('\n')}\n`));
    return 0;
  } finally {
    state.close();
  }
}
