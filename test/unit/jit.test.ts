import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/model/finding.ts';
import type { Change, Operation } from '../../src/model/plan.ts';
import { foldJit } from '../../src/reconcile/jit.ts';
import { openState } from '../../src/state/open.ts';

/** JIT coexistence: a field set back run after run is named once, as JIT, not as fresh drift. */

const drift = (field: string, before: string, after: string): Change => ({ field: field as Change['field'], before, after, drift: true });
const update = (n: number, changes: Change[]): Operation => ({
  id: `update:u${n}`,
  kind: 'update',
  idpId: `u${n}`,
  dockerId: `d${n}`,
  userName: `u${n}@example.com`,
  changes,
  target: { userName: `u${n}@example.com`, givenName: 'Ada', familyName: 'L', active: true, role: 'member', org: 'acme', team: null },
  reason: 'drift',
});
const driftFinding = (n: number, field: string): Finding => ({ code: 'DRIFT', severity: 'warning', subject: `u${n}@example.com`, idpId: `u${n}`, field, message: `Docker's ${field} …` });

describe('foldJit', () => {
  const ops = [update(1, [drift('givenName', 'A', 'Ada'), drift('familyName', 'X', 'L')]), update(2, [drift('givenName', 'B', 'Ada')]), update(3, [drift('givenName', 'C', 'Ada')])];
  const findings = [driftFinding(1, 'givenName'), driftFinding(1, 'familyName'), driftFinding(2, 'givenName'), driftFinding(3, 'givenName'), { code: 'UNMANAGED_ACCOUNT', severity: 'info', subject: 'm@example.com', message: 'x' } as Finding];

  it('a streak reaching the threshold with this run replaces its DRIFT lines by one JIT_SUSPECTED per field', () => {
    const streaks = [
      { idpId: 'u1', field: 'givenName', runs: 2 },
      { idpId: 'u2', field: 'givenName', runs: 2 },
      { idpId: 'u1', field: 'familyName', runs: 1 },
    ];
    const out = foldJit(findings, ops, { streaks, threshold: 3 });
    expect(out.map((f) => [f.code, f.subject])).toEqual([
      ['DRIFT', 'u1@example.com'], // familyName: 2 runs with this one, below 3
      ['DRIFT', 'u3@example.com'], // no streak yet
      ['UNMANAGED_ACCOUNT', 'm@example.com'],
      ['JIT_SUSPECTED', 'givenName'],
    ]);
    expect(out[0]?.field).toBe('familyName');
    const jit = out.at(-1)!;
    expect(jit).toMatchObject({ severity: 'warning', field: 'givenName' });
    expect(jit.message).toContain('on 2 accounts for 3 or more runs in a row (u1@example.com, u2@example.com)');
    expect(jit.advice).toMatch(/turn JIT provisioning off/);
  });

  it('below the threshold nothing changes; no streak at all costs nothing', () => {
    expect(foldJit(findings, ops, { streaks: [{ idpId: 'u1', field: 'givenName', runs: 1 }], threshold: 3 })).toEqual(findings);
    expect(foldJit(findings, ops, { streaks: [], threshold: 3 })).toEqual(findings);
  });

  it('a role set back run after run is not JIT (roles do not flip): its DRIFT lines stay', () => {
    const role = [update(1, [{ field: 'role', before: 'owner', after: 'member', drift: true }])];
    const drift = [driftFinding(1, 'role')];
    expect(foldJit(drift, role, { streaks: [{ idpId: 'u1', field: 'role', runs: 5 }], threshold: 3 })).toEqual(drift);
  });
});

describe('drift streaks in the state file', () => {
  const store = () => openState({ path: join(mkdtempSync(join(tmpdir(), 'jit-')), 'state.db') });

  it('a set-back extends the streak; a run that saw the user without one ends it', () => {
    const s = store();
    s.recordDrift('r1', [{ idpId: 'u1', field: 'givenName' }, { idpId: 'u2', field: 'givenName' }], null);
    s.recordDrift('r2', [{ idpId: 'u1', field: 'givenName' }], null);
    expect(s.driftStreaks()).toEqual([{ idpId: 'u1', field: 'givenName', runs: 2 }]);
    // An incremental run that read only u2 leaves u1's streak alone, and ends u2's (none now).
    s.recordDrift('r3', [], new Set(['u2']));
    expect(s.driftStreaks()).toEqual([{ idpId: 'u1', field: 'givenName', runs: 2 }]);
    s.recordDrift('r4', [], new Set(['u1']));
    expect(s.driftStreaks()).toEqual([]);
    s.close();
  });
});
