import { describe, expect, it } from 'vitest';
import { HISTORY_AGE_MS, inThePast } from '../../bench/fixture.ts';
import { describeChange, landed, unlandedText, type DockerView } from '../../bench/landed.ts';
import { changeShare, makeChange, ONE_OF_EACH, planFewChanges, populate, summarizeFew, TEN_CHANGES, type FewChange } from '../../bench/population.ts';
import { Directory, type DirectoryUser } from '../../src/sandbox/directory.ts';

/**
 * The few changes the incremental and freshness workloads make: chosen on the world as it is,
 * made through the Directory's methods so the change feeds see them, and looked for in Docker's
 * store afterwards; a change that did not land fails the step.
 */

function world(users = 2_000) {
  const dir = new Directory();
  const pop = populate(dir, { users });
  return { dir, pop };
}

/** A Docker store as a sync leaves it: one active account per assigned user, team groups with their members. */
function dockerOf(dir: Directory): DockerView & { users: Map<string, { id: string; familyName: string | null; active: boolean; role: string | null }>; groups: Map<string, { members: string[] }> } {
  const users = new Map<string, { id: string; familyName: string | null; active: boolean; role: string | null }>();
  const groups = new Map<string, { members: string[] }>();
  for (const u of dir.users.values()) {
    const role = typeof u.attributes.dockerRole === 'string' ? u.attributes.dockerRole : 'member';
    users.set((u.email as string).toLowerCase(), { id: `d-${u.id}`, familyName: u.familyName, active: u.assigned, role });
  }
  for (const g of dir.groups.values()) groups.set(g.name, { members: [...g.members].map((id) => `d-${id}`) });
  return { users, groups, user: (n) => users.get(n.toLowerCase()), group: (n) => groups.get(n) };
}

describe('a few-changes set', () => {
  it('has the issue\'s mix: 10 changes for the incremental run, one of each kind for freshness', () => {
    expect(Object.values(TEN_CHANGES).reduce((a, b) => a + b, 0)).toBe(10);
    expect(TEN_CHANGES).toEqual({ renamed: 3, roleChanged: 2, unassigned: 2, joined: 2, assigned: 1 });
    expect(Object.values(ONE_OF_EACH)).toEqual([1, 1, 1, 1, 1]);
  });

  it('picks distinct people who are assigned directly and in no team group, with values that differ from today\'s', () => {
    const { dir, pop } = world();
    const planned = planFewChanges(dir, pop, TEN_CHANGES, 7);
    expect(summarizeFew(planned)).toEqual({ renamed: 3, roleChanged: 2, unassigned: 2, joined: 2, left: 0, assigned: 1, users: 10 });
    const existing = planned.filter((c): c is Exclude<FewChange, { kind: 'assigned' }> => c.kind !== 'assigned');
    expect(new Set(existing.map((c) => c.userId)).size).toBe(9);
    const inGroups = new Set(pop.groups.flatMap((g) => [...g.members]));
    for (const c of existing) {
      const u = dir.users.get(c.userId) as DirectoryUser;
      expect(u.assigned).toBe(true);
      expect(inGroups.has(u.id)).toBe(false);
      expect(c.userName).toBe(u.email?.toLowerCase());
      if (c.kind === 'renamed') expect(c.familyName).not.toBe(u.familyName);
      if (c.kind === 'roleChanged') expect(c.role).not.toBe(u.attributes.dockerRole ?? 'member');
      if (c.kind === 'joined') expect(pop.groups.map((g) => g.name)).toContain(c.team);
    }
    const fresh = planned.find((c) => c.kind === 'assigned');
    expect(fresh).toBeDefined();
    expect([...dir.users.values()].some((u) => u.email?.toLowerCase() === fresh?.userName)).toBe(false);
  });

  it('chooses nothing before it is made, and is the same choice for the same seed', () => {
    const { dir, pop } = world();
    const version = dir.version;
    const a = planFewChanges(dir, pop, TEN_CHANGES, 7);
    expect(dir.version).toBe(version);
    expect(planFewChanges(dir, pop, TEN_CHANGES, 7)).toEqual(a);
    expect(planFewChanges(dir, pop, TEN_CHANGES, 8)).not.toEqual(a);
  });

  it('looks at the world as earlier workloads left it: nobody unassigned or put in a group since is chosen', () => {
    const { dir, pop } = world(2_000);
    changeShare(dir, pop, 0.05);
    const gone = new Set([...dir.users.values()].filter((u) => !u.assigned).map((u) => u.id));
    const grouped = new Set(pop.groups.flatMap((g) => [...g.members]));
    expect(gone.size).toBeGreaterThan(0);
    for (let seed = 1; seed <= 20; seed++) {
      for (const c of planFewChanges(dir, pop, TEN_CHANGES, seed)) {
        if (c.kind === 'assigned') continue;
        expect(gone.has(c.userId)).toBe(false);
        expect(grouped.has(c.userId)).toBe(false);
      }
    }
  });

  it('is made through the Directory, so its change log (what the feeds serve) records each change', () => {
    const { dir, pop } = world();
    const planned = planFewChanges(dir, pop, ONE_OF_EACH, 3);
    const before = dir.changes.length;
    for (const c of planned) makeChange(dir, c);
    const log = dir.changes.slice(before);
    expect(log.map((c) => c.kind)).toEqual(['user-changed', 'user-changed', 'user-changed', 'member-added', 'user-added']);
    const renamed = planned[0] as Extract<FewChange, { kind: 'renamed' }>;
    expect(dir.users.get(renamed.userId)?.familyName).toBe(renamed.familyName);
    const unassigned = planned[2] as Extract<FewChange, { kind: 'unassigned' }>;
    expect(dir.assignedUsers().some((u) => u.id === unassigned.userId)).toBe(false);
  });

  it('lands in Docker when a sync has carried it, and not before', () => {
    const { dir, pop } = world();
    const planned = planFewChanges(dir, pop, TEN_CHANGES, 11);
    const docker = dockerOf(dir);
    // Before: none of them shows, so a run that wrote nothing cannot pass the check.
    for (const c of planned) expect(landed(c, docker)).toBe(false);
    expect(unlandedText(planned, docker)).toMatch(/^10 of 10 changes did not reach Docker: /);
    for (const c of planned) makeChange(dir, c);
    // After a sync: Docker as the new directory says.
    const synced = dockerOf(dir);
    for (const c of planned) expect([describeChange(c), landed(c, synced)]).toEqual([describeChange(c), true]);
    expect(unlandedText(planned, synced)).toBeNull();
  });

  it('does not count a deleted account as unassigned, a member of another team as joined, or an inactive newcomer as assigned', () => {
    const { dir, pop } = world();
    const planned = planFewChanges(dir, pop, ONE_OF_EACH, 5);
    for (const c of planned) makeChange(dir, c);
    const docker = dockerOf(dir);
    const [, , unassigned, joined, assigned] = planned as [FewChange, FewChange, FewChange, Extract<FewChange, { kind: 'joined' }>, FewChange];
    docker.users.delete(unassigned.userName);
    expect(landed(unassigned, docker)).toBe(false);
    const account = docker.user(joined.userName)?.id as string;
    (docker.groups.get(joined.team) as { members: string[] }).members = [];
    for (const [name, g] of docker.groups) if (name !== joined.team) g.members.push(account);
    expect(landed(joined, docker)).toBe(false);
    (docker.users.get(assigned.userName) as { active: boolean }).active = false;
    expect(landed(assigned, docker)).toBe(false);
    expect(unlandedText(planned, docker)).toBe(`3 of 5 changes did not reach Docker: ${describeChange(unassigned)}; ${describeChange(joined)}; ${describeChange(assigned)}`);
  });

  it('refuses a set larger than the people it can be made to', () => {
    const { dir, pop } = world(60);
    expect(() => planFewChanges(dir, pop, { renamed: 100, roleChanged: 0, unassigned: 0, joined: 0, assigned: 0 }, 1)).toThrow(/needs as many assigned users outside team groups; the world has \d+/);
  });
});

describe("the world's history", () => {
  it('is stamped an hour back, so a feed that re-reads the last half-minute does not find the population in it', () => {
    const dir = new Directory();
    const t0 = Date.now();
    inThePast(dir, () => populate(dir, { users: 100 }));
    for (const c of dir.changes) expect(c.at).toBeLessThanOrEqual(t0 - HISTORY_AGE_MS + 1_000);
    // The clock is put back: what a workload times is stamped now.
    dir.addUser({ email: 'now@bench.example.com' });
    expect((dir.changes.at(-1) as { at: number }).at).toBeGreaterThanOrEqual(t0);
  });

  it('gives the clock back even when the work throws', () => {
    const dir = new Directory();
    const clock = dir.now;
    expect(() => inThePast(dir, () => { throw new Error('boom'); })).toThrow('boom');
    expect(dir.now).toBe(clock);
  });
});
