import type { Finding } from '../model/finding.ts';
import type { Operation } from '../model/plan.ts';

/**
 * JIT provisioning beside SCIM: Docker's docs say names and team memberships "flip back and forth"
 * when both are on, as each SSO sign-in writes the SSO connection's values over what SCIM set. This
 * tool sets them back every run and said so with a DRIFT line per field per run: noise that hid
 * the cause. When the same field of the same account has been set back on `threshold` runs in a
 * row (this one included), its DRIFT findings are replaced by one JIT_SUSPECTED per field that
 * names the likely cause and the fix. The set-back itself still happens: the IdP is the source.
 *
 * Pure: no I/O, and the plan is not changed beyond its findings.
 */
export interface JitInput {
  /** Runs before this one that set each (user, field) back (StateStore.driftStreaks). */
  readonly streaks: readonly { readonly idpId: string; readonly field: string; readonly runs: number }[];
  /** JIT_DETECT_RUNS. */
  readonly threshold: number;
}

/**
 * Fields JIT writes at each sign-in (Docker: "full names and team memberships flip back and
 * forth"; "roles do not flip"). A role or an account's state set back run after run has another
 * cause (a person, a script), which the DRIFT lines keep naming.
 */
const JIT_FIELDS: ReadonlySet<string> = new Set(['givenName', 'familyName', 'team', 'email']);

const key = (idpId: string, field: string) => `${idpId}\u0000${field}`;

export function foldJit(findings: readonly Finding[], operations: readonly Operation[], jit: JitInput): Finding[] {
  if (jit.streaks.length === 0) return [...findings];
  const threshold = jit.threshold;
  const streaks = new Map(jit.streaks.map((s) => [key(s.idpId, s.field), s.runs]));
  /** field → userNames set back on `threshold` runs in a row, this one included. */
  const suspects = new Map<string, string[]>();
  const folded = new Set<string>();
  for (const op of operations) {
    if (op.kind !== 'update' && op.kind !== 'reactivate') continue;
    for (const c of op.changes) {
      if (!c.drift || !JIT_FIELDS.has(c.field)) continue;
      if ((streaks.get(key(op.idpId, c.field)) ?? 0) + 1 < threshold) continue;
      folded.add(key(op.idpId, c.field));
      const names = suspects.get(c.field) ?? [];
      names.push(op.userName);
      suspects.set(c.field, names);
    }
  }
  if (suspects.size === 0) return [...findings];
  const kept = findings.filter((f) => !(f.code === 'DRIFT' && f.idpId !== undefined && f.field !== undefined && folded.has(key(f.idpId, f.field))));
  for (const [field, names] of [...suspects.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const n = names.length;
    const shown = names.slice(0, 5).join(', ') + (n > 5 ? ` and ${n - 5} more` : '');
    kept.push({
      code: 'JIT_SUSPECTED',
      severity: 'warning',
      subject: field,
      field,
      message: `Docker's ${field} was changed back outside this tool on ${n} account${n === 1 ? '' : 's'} for ${threshold} or more runs in a row (${shown}); something writes it after every sync, most likely JIT provisioning on the SSO connection`,
      advice: `turn JIT provisioning off on the Docker SSO connection once SCIM is in use (Docker recommends one provisioning source), or make the SSO connection's attribute mapping send the same ${field} the IdP holds; this tool sets it back each run until then`,
    });
  }
  return kept;
}
