import { describe, expect, it } from 'vitest';
import { changeShare, ONE_OF_EACH, populate, split, TEN_CHANGES } from '../../bench/population.ts';
import { FRESHNESS_SCHEDULE, FULL_SIZES, QUICK_SIZES, selectWorkloads, WORKLOADS } from '../../bench/workloads.ts';
import { scheduleIntervalMs } from '../../src/daemon/schedule.ts';
import { Directory } from '../../src/sandbox/directory.ts';

/** Everything about a directory that a sync reads, as plain data to compare. */
function fingerprint(dir: Directory): unknown {
  return {
    users: [...dir.users.values()].map((u) => [u.id, u.email, u.givenName, u.familyName, u.assigned, u.enabled, JSON.stringify(u.attributes)]),
    groups: [...dir.groups.values()].map((g) => [g.id, g.name, g.assigned, [...g.members].sort()]),
  };
}

describe('the benchmark population', () => {
  it('is the same every time: ids, emails, attributes and memberships', () => {
    const a = new Directory();
    const b = new Directory();
    populate(a, { users: 3_000 });
    populate(b, { users: 3_000 });
    expect(fingerprint(a)).toEqual(fingerprint(b));
  });

  it('puts exactly 2 % of users in 50 org:team groups assigned to the app, each member in one group', () => {
    const dir = new Directory();
    const pop = populate(dir, { users: 10_000 });
    expect(pop.groups).toHaveLength(50);
    for (const g of pop.groups) {
      expect(g.name).toMatch(/^(acme|acmelabs):team\d+$/);
      expect(g.assigned).toBe(true);
    }
    const memberships = pop.groups.flatMap((g) => [...g.members]);
    expect(memberships).toHaveLength(200);
    expect(new Set(memberships).size).toBe(200);
    expect(pop.membership.size).toBe(200);
    // Spread evenly: every group holds 4.
    expect(new Set(pop.groups.map((g) => g.members.size))).toEqual(new Set([4]));
  });

  it('assigns everyone to the app, with valid emails and a few roles and other orgs', () => {
    const dir = new Directory();
    const pop = populate(dir, { users: 5_000 });
    expect(dir.assignedUsers()).toHaveLength(5_000);
    const emails = pop.users.map((u) => u.email ?? '');
    expect(new Set(emails.map((e) => e.toLowerCase())).size).toBe(5_000);
    for (const e of emails) expect(e).toMatch(/^[a-z.0-9]+@bench\.example\.com$/);
    const roles = pop.users.filter((u) => u.attributes.dockerRole !== undefined).length;
    const orgs = pop.users.filter((u) => u.attributes.dockerOrg === 'acmelabs').length;
    expect(roles).toBeGreaterThan(250);
    expect(roles).toBeLessThan(750);
    expect(orgs).toBeGreaterThan(100);
    expect(orgs).toBeLessThan(400);
  });
});

describe('the 1 % change set', () => {
  it('splits its total by kind, the parts adding up to it', () => {
    for (const total of [0, 1, 7, 20, 1_000]) {
      const s = split(total);
      expect(Object.values(s).reduce((a, b) => a + b, 0)).toBe(total);
    }
    expect(split(1_000)).toEqual({ renamed: 300, roleChanged: 200, unassigned: 200, joined: 150, left: 150 });
  });

  it('changes 1 % of users, each once, and does to the directory what its summary says', () => {
    const dir = new Directory();
    const pop = populate(dir, { users: 10_000 });
    const before = new Map([...dir.users.values()].map((u) => [u.id, { ...u, attributes: { ...u.attributes } }]));
    const groupsBefore = new Map(pop.groups.map((g) => [g.id, new Set(g.members)]));

    const summary = changeShare(dir, pop, 0.01);
    expect(summary).toEqual({ renamed: 30, roleChanged: 20, unassigned: 20, joined: 15, left: 15, users: 100 });

    let renamed = 0;
    let roleChanged = 0;
    let unassigned = 0;
    const touched = new Set<string>();
    for (const u of dir.users.values()) {
      const was = before.get(u.id);
      if (!was) throw new Error('a user appeared');
      if (u.familyName !== was.familyName) {
        renamed++;
        touched.add(u.id);
        expect(u.familyName).toBe(`${was.familyName}-Renamed`);
      }
      if (u.attributes.dockerRole !== was.attributes.dockerRole) {
        roleChanged++;
        touched.add(u.id);
        expect(['editor', 'owner']).toContain(u.attributes.dockerRole);
      }
      if (u.assigned !== was.assigned) {
        unassigned++;
        touched.add(u.id);
        expect(u.assigned).toBe(false);
      }
    }
    let joined = 0;
    let left = 0;
    for (const g of pop.groups) {
      const was = groupsBefore.get(g.id) as Set<string>;
      for (const m of g.members) if (!was.has(m)) (joined++, touched.add(m));
      for (const m of was) if (!g.members.has(m)) (left++, touched.add(m));
    }
    expect({ renamed, roleChanged, unassigned, joined, left }).toEqual({ renamed: 30, roleChanged: 20, unassigned: 20, joined: 15, left: 15 });
    // Each person changed once: 100 distinct users for 100 changes.
    expect(touched.size).toBe(100);
    // The unassigned are no longer app users (a deactivation in Docker), the others still are.
    expect(dir.assignedUsers()).toHaveLength(10_000 - 20);
  });

  it('is the same change set every time', () => {
    const run = () => {
      const dir = new Directory();
      const pop = populate(dir, { users: 4_000 });
      changeShare(dir, pop, 0.01);
      return fingerprint(dir);
    };
    expect(run()).toEqual(run());
  });
});

describe('the workloads', () => {
  it("are the issue's, every one measured: none is left pending", () => {
    expect(WORKLOADS.map((w) => w.id)).toEqual(['first-sync', 'scale', 'rerun', 'changed', 'incremental', 'freshness']);
    for (const w of WORKLOADS) {
      expect(w.pending).toBeUndefined();
      expect(w.steps?.(FULL_SIZES).length).toBeGreaterThan(0);
    }
  });

  it('the incremental workload runs `sync --incremental` on a primed world at 100,000 users: after 10 changes, then with nothing changed', () => {
    const steps = WORKLOADS.find((w) => w.id === 'incremental')?.steps?.(FULL_SIZES) ?? [];
    expect(steps.map((s) => [s.users, s.start, s.paced, s.cursor, s.args, s.variant])).toEqual([
      [100_000, 'synced', true, true, ['sync', '--incremental'], '10 changes'],
      [100_000, 'synced', true, true, ['sync', '--incremental'], 'nothing changed'],
    ]);
    expect(steps[0]?.few?.mix).toEqual(TEN_CHANGES);
    expect(steps[1]?.few).toBeUndefined();
    expect(steps[1]?.change).toBeUndefined();
  });

  it('the freshness workload runs the daemon on a six-field schedule with seconds, one change of each kind', () => {
    const steps = WORKLOADS.find((w) => w.id === 'freshness')?.steps?.(FULL_SIZES) ?? [];
    expect(steps).toHaveLength(1);
    const d = steps[0]?.daemon;
    expect(steps[0]).toMatchObject({ users: 100_000, start: 'synced', paced: true, cursor: true });
    expect(d?.schedule).toBe(FRESHNESS_SCHEDULE);
    expect(FRESHNESS_SCHEDULE.split(' ')).toHaveLength(6);
    expect(scheduleIntervalMs(FRESHNESS_SCHEDULE)).toBe(10_000);
    expect(d?.mix).toEqual(ONE_OF_EACH);
  });

  it('measure at the sizes the issue names, and --quick keeps every workload small', () => {
    const at = (id: string, sizes = FULL_SIZES) => WORKLOADS.find((w) => w.id === id)?.steps?.(sizes).map((s) => [s.users, s.start, s.paced]);
    expect(at('first-sync')).toEqual([[10_000, 'fresh', true]]);
    expect(at('scale')).toEqual([[1_000, 'fresh', false], [10_000, 'fresh', false], [100_000, 'fresh', false]]);
    expect(at('rerun')).toEqual([[100_000, 'synced', true]]);
    expect(at('changed')).toEqual([[100_000, 'synced', true]]);
    expect(at('incremental')).toEqual([[100_000, 'synced', true], [100_000, 'synced', true]]);
    expect(at('freshness')).toEqual([[100_000, 'synced', true]]);
    for (const w of WORKLOADS) for (const s of w.steps?.(QUICK_SIZES) ?? []) expect(s.users).toBeLessThanOrEqual(2_000);
  });

  it('the 1 % workload raises the deactivation guard, since it unassigns people on purpose', () => {
    const step = WORKLOADS.find((w) => w.id === 'changed')?.steps?.(FULL_SIZES)[0];
    expect(step?.env).toMatchObject({ MAX_DEACTIVATIONS: '1000000', MAX_DEACTIVATION_PERCENT: '100' });
    expect(step?.change).toBeTypeOf('function');
  });

  it('--only picks workloads in run order and names the known ones for an unknown id', () => {
    expect(selectWorkloads(['rerun', 'first-sync']).map((w) => w.id)).toEqual(['first-sync', 'rerun']);
    expect(selectWorkloads(null)).toHaveLength(WORKLOADS.length);
    expect(() => selectWorkloads(['nope'])).toThrow(/unknown workload nope; known: first-sync, scale/);
  });
});
