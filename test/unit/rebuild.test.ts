import { describe, expect, it } from 'vitest';
import type { LinkOrigin } from '../../src/model/link.ts';
import { buildPlan } from '../../src/reconcile/plan.ts';
import { planRebuild } from '../../src/reconcile/rebuild.ts';
import { desired, dockerUser } from '../support/builders.ts';

/** state rebuild links by userName only what a sync would own too (DESIGN invariant 2). */
describe('planRebuild', () => {
  const active = desired({ idpId: 'u1', userName: 'ada@example.com' });
  const leaver = desired({ idpId: 'u99', userName: 'old@example.com', active: false });
  const observed = { users: [dockerUser({ id: 'd1', userName: 'ada@example.com' }), dockerUser({ id: 'd99', userName: 'old@example.com' })], groups: [] };
  const state = { users: [active, leaver], held: [], deprovisioned: [], findings: [] };
  const none = new Map<string, LinkOrigin>();

  it('with ADOPT_EXISTING=true an active user\'s match is adopted, as a sync would; an inactive user\'s is only listed', () => {
    const plan = planRebuild(state, observed, { owned: none, adoptExisting: true, adoptUnproven: false });
    expect(plan.links.map((l) => l.idpId)).toEqual(['u1']);
    expect(plan.unproven).toEqual([{ idpId: 'u99', dockerId: 'd99', userName: 'old@example.com' }]);
    // And the next sync does not deactivate the account nobody proved the tool managed.
    const links = plan.links.map((l) => ({ idpId: l.idpId, dockerId: l.dockerId, userName: l.userName, origin: l.origin, applied: l.applied }));
    const next = buildPlan({ source: 'okta', idpUsers: 2, desired: state, links, observed, options: { adoptExisting: true, deactivate: true, maxDeactivations: 25, maxDeactivationPercent: 100, force: false } });
    expect(next.operations.filter((o) => o.kind === 'deactivate')).toEqual([]);
  });

  it('an inactive user\'s account proven the tool\'s own is linked, and --adopt-unproven links it on the admin\'s word', () => {
    expect(planRebuild(state, observed, { owned: new Map([['d99', 'created']]), adoptExisting: true, adoptUnproven: false }).links.map((l) => [l.idpId, l.origin])).toEqual([
      ['u1', 'adopted'],
      ['u99', 'created'],
    ]);
    expect(planRebuild(state, observed, { owned: none, adoptExisting: false, adoptUnproven: true }).links.map((l) => l.idpId)).toEqual(['u1', 'u99']);
  });
});
