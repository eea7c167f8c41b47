import { describe, expect, it } from 'vitest';
import type { DesiredUser } from '../../src/model/desired.ts';
import type { DockerUser } from '../../src/model/docker.ts';
import type { Link } from '../../src/model/link.ts';
import type { Plan, TeamOperation } from '../../src/model/plan.ts';
import { buildPlan, type PlanOptions } from '../../src/reconcile/plan.ts';
import { compareOperations, reviewPlan, type Review } from '../../src/reconcile/review.ts';
import { desired, group, link, synced } from '../support/builders.ts';

/**
 * `apply` of a saved plan against the plan made now (invariant 12): exactly as reviewed, or not at
 * all. Each pair of plans below is the same company before and after something changed.
 */

const OPTIONS: PlanOptions = { adoptExisting: true, deactivate: true, maxDeactivations: 25, maxDeactivationPercent: 100, force: false };

const jane = desired({ idpId: 'u-jane', userName: 'jane@example.com', givenName: 'Jane', familyName: 'Doe' });
const bob = desired({ idpId: 'u-bob', userName: 'bob@example.com', givenName: 'Bob', familyName: 'Roe' });
// New people in the web group too: their creates put them in the default team, the plan adds them to web.
const cy = desired({ idpId: 'u-cy', userName: 'cy@example.com', teams: ['acme:everyone', 'acme:web'] });
const dan = desired({ idpId: 'u-dan', userName: 'dan@example.com', teams: ['acme:everyone', 'acme:web'] });

/** jane and bob are linked and in sync; `users` is who the IdP assigns now. */
function planOf(users: DesiredUser[], opts: { docker?: (d: DockerUser) => DockerUser; options?: Partial<PlanOptions> } = {}): Plan {
  const links: Link[] = [link(jane, 'd1'), link(bob, 'd2')];
  const accounts = [synced(jane, 'd1'), synced(bob, 'd2')].map(opts.docker ?? ((d) => d));
  return buildPlan({
    source: 'okta',
    idpUsers: users.length,
    desired: { users, held: [], deprovisioned: [], findings: [] },
    links,
    observed: { users: accounts, groups: [group('acme:everyone', ['d1', 'd2']), group('acme:web', [], 'g-web')] },
    options: { ...OPTIONS, ...opts.options },
  });
}

const ids = (p: Plan) => p.operations.map((o) => o.id);
function expectVerdict<V extends Review['verdict']>(r: Review, verdict: V): Extract<Review, { verdict: V }> {
  expect(r.verdict).toBe(verdict);
  return r as Extract<Review, { verdict: V }>;
}

describe('reviewing a saved plan against the plan made now', () => {
  const renamed = { ...jane, familyName: 'Smith' };

  it('nothing changed: the reviewed plan is applied as it is, with nothing left out', () => {
    const saved = planOf([renamed, bob]);
    const r = expectVerdict(reviewPlan(saved, planOf([renamed, bob]), { force: false }), 'apply');
    expect(r.plan.operations).toEqual(saved.operations);
    expect(r.unreviewed).toEqual([]);
  });

  it('the IdP changed a planned user again: stale, and each differing field says what was reviewed and what holds now', () => {
    const r = expectVerdict(reviewPlan(planOf([renamed, bob]), planOf([{ ...jane, familyName: 'Jones' }, bob]), { force: false }), 'stale');
    expect(r.differences).toEqual([
      {
        opId: 'update:u-jane',
        kind: 'update',
        subject: 'jane@example.com',
        change: 'changed',
        fields: expect.arrayContaining([
          { field: 'change familyName', reviewed: '"Doe" → "Smith"', now: '"Doe" → "Jones"' },
          { field: 'target.familyName', reviewed: '"Smith"', now: '"Jones"' },
        ]),
      },
    ]);
    const changed = r.differences[0];
    expect(changed?.change === 'changed' && changed.fields).toHaveLength(2);
  });

  it("Docker changed a planned account behind the tool's back: its before-values no longer hold, so it is stale", () => {
    const fresh = planOf([renamed, bob], { docker: (d) => (d.id === 'd1' ? { ...d, givenName: 'Janet' } : d) });
    const r = expectVerdict(reviewPlan(planOf([renamed, bob]), fresh, { force: false }), 'stale');
    expect(r.differences).toMatchObject([{ opId: 'update:u-jane', change: 'changed', fields: [{ field: 'change givenName', reviewed: '(none)', now: '"Janet" → "Jane" (drift)' }] }]);
  });

  it('a reviewed operation that is no longer planned is gone: stale', () => {
    const r = expectVerdict(reviewPlan(planOf([jane]), planOf([jane, bob]), { force: false }), 'stale');
    expect(r.differences).toEqual([{ opId: 'deactivate:u-bob', kind: 'deactivate', subject: 'bob@example.com', change: 'gone' }]);
  });

  it('operations planned since the review are not applied, and are listed as such', () => {
    const saved = planOf([renamed, bob]);
    const fresh = planOf([renamed, bob, cy]);
    expect(ids(fresh)).toEqual(['create:u-cy', 'update:u-jane', 'team-add:acme:web']);
    const r = expectVerdict(reviewPlan(saved, fresh, { force: false }), 'apply');
    expect(ids(r.plan)).toEqual(['update:u-jane']);
    expect(r.plan.counts.operations).toMatchObject({ create: 0, update: 1, 'team-add': 0 });
    expect(r.unreviewed.map((d) => `${d.change} ${d.opId}`)).toEqual(['new create:u-cy', 'new team-add:acme:web']);
  });

  it('a reviewed team change goes to its reviewed members only; a member added since is listed, one dropped since makes it stale', () => {
    const r = expectVerdict(reviewPlan(planOf([jane, bob, cy]), planOf([jane, bob, cy, dan]), { force: false }), 'apply');
    const add = r.plan.operations.find((o): o is TeamOperation => o.kind === 'team-add');
    expect(add?.members.map((m) => m.userName)).toEqual(['cy@example.com']);
    expect(r.unreviewed).toEqual([
      { opId: 'team-add:acme:web', kind: 'team-add', subject: 'acme:web', change: 'new', members: ['dan@example.com'] },
      { opId: 'create:u-dan', kind: 'create', subject: 'dan@example.com', change: 'new' },
    ]);
    const dropped = expectVerdict(reviewPlan(planOf([jane, bob, cy, dan]), planOf([jane, bob, cy]), { force: false }), 'stale');
    expect(dropped.differences.map((d) => `${d.change} ${d.opId}`)).toEqual(['gone create:u-dan', 'changed team-add:acme:web']);
    expect(dropped.differences[1]).toMatchObject({ fields: [{ field: 'member u-dan', reviewed: 'dan@example.com → the account its create makes once create:u-dan succeeds', now: '(none)' }] });
  });

  it("how a member's account is resolved is content; the reason is prose and is not", () => {
    const op: TeamOperation = { id: 'team-add:acme:web', kind: 'team-add', group: 'acme:web', groupId: 'g1', members: [{ idpId: 'u-jane', userName: 'jane@example.com', dockerId: 'd1' }], reason: 'r' };
    expect(compareOperations(op, { ...op, reason: 'said otherwise' })).toEqual({ fields: [], newMembers: [] });
    const adopted = { ...op, members: [{ idpId: 'u-jane', userName: 'jane@example.com', dockerId: 'd1', fromOperation: 'adopt:u-jane' }] };
    expect(compareOperations(op, adopted).fields).toEqual([{ field: 'member u-jane', reviewed: 'jane@example.com → d1', now: 'jane@example.com → d1 once adopt:u-jane succeeds' }]);
  });

  it('a plan that tripped the safety guard is refused without --force, and applied whole with it', () => {
    const tight = { maxDeactivations: 0 };
    const saved = planOf([jane], { options: tight });
    expect(saved.safety.tripped).toBe(true);
    const held = expectVerdict(reviewPlan(saved, planOf([jane], { options: tight }), { force: false }), 'held');
    expect(held).toMatchObject({ reviewedPlanTripped: true, message: '1 deactivations exceed MAX_DEACTIVATIONS=0' });
    const forced = expectVerdict(reviewPlan(saved, planOf([jane], { options: { ...tight, force: true } }), { force: true }), 'apply');
    expect(forced.plan.operations).toMatchObject([{ id: 'deactivate:u-bob' }]);
    expect(forced.plan.operations[0]?.blocked).toBeUndefined();
  });

  it('a world that trips the guard now holds even a reviewed plan that did not', () => {
    const saved = planOf([jane], { options: { maxDeactivations: 1 } });
    expect(saved.safety.tripped).toBe(false);
    // jane leaves too: two deactivations now, over the threshold; bob's reviewed one is unchanged.
    const r = expectVerdict(reviewPlan(saved, planOf([], { options: { maxDeactivations: 1 } }), { force: false }), 'held');
    expect(r.reviewedPlanTripped).toBe(false);
  });

  it('DEACTIVATE=false since the review: the deactivation would not run as reviewed, so it is stale', () => {
    const r = expectVerdict(reviewPlan(planOf([jane]), planOf([jane], { options: { deactivate: false } }), { force: false }), 'stale');
    expect(r.differences).toMatchObject([{ opId: 'deactivate:u-bob', fields: [{ field: 'blocked', reviewed: '(none)', now: 'deactivation-disabled' }] }]);
  });
});
