import type { Check, CheckStatus } from '../model/check.ts';
import { TOOL_VERSION } from '../version.ts';

/** `doctor`'s checks for a terminal (a mark per line, the fix under it) or as JSON for scripts. */

const MARK: Readonly<Record<CheckStatus, string>> = { ok: '✔', warn: '!', fail: '✘', skip: '–' };

export function renderDoctorText(checks: readonly Check[], source: string | null): string {
  const width = Math.max(...checks.map((c) => c.id.length), 6);
  const lines = [`docker-idp-sync ${TOOL_VERSION} · doctor${source ? ` · source ${source}` : ''}`, ''];
  for (const c of checks) {
    lines.push(`  ${MARK[c.status]} ${c.id.padEnd(width)}  ${c.status === 'skip' ? `skipped: ${c.detail}` : c.detail}`);
    if (c.fix && (c.status === 'fail' || c.status === 'warn')) lines.push(`  ${' '.repeat(width + 2)}  → ${c.fix}`);
  }
  const n = (s: CheckStatus) => checks.filter((c) => c.status === s).length;
  lines.push('', `${n('ok')} ok · ${n('warn')} warning${n('warn') === 1 ? '' : 's'} · ${n('fail')} failed · ${n('skip')} skipped`);
  return `${lines.join('\n')}\n`;
}

export function renderDoctorJson(checks: readonly Check[], source: string | null): string {
  return `${JSON.stringify({ format: 'docker-idp-sync/doctor', version: 1, toolVersion: TOOL_VERSION, source, failed: checks.some((c) => c.status === 'fail'), checks }, null, 2)}\n`;
}
