import type { Directory, DirectoryGroup, DirectoryUser } from '../src/sandbox/directory.ts';
import { prng } from '../src/sandbox/seed.ts';

/**
 * The benchmark's people, as issue 15 measured them: everyone assigned to the Docker app directly,
 * a few with a role or another organization, and 2 % of them in 50 `org:team` groups assigned to
 * the app. Deterministic: the same spec gives the same directory, ids included, every time.
 */

export interface PopulationSpec {
  readonly users: number;
  /** `org:team` groups assigned to the app. Default 50. */
  readonly teamGroups?: number;
  /** Share of users who are members of one team group. Default 0.02. */
  readonly inGroups?: number;
  readonly seed?: number;
}

export interface Population {
  /** Every user, in creation order. */
  readonly users: readonly DirectoryUser[];
  readonly groups: readonly DirectoryGroup[];
  /** Users in a team group, and which. */
  readonly membership: ReadonlyMap<string, DirectoryGroup>;
}

const ORGS = ['acme', 'acmelabs'] as const;
const GIVEN = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Ken', 'Dennis', 'Margaret', 'Linus', 'Radia', 'Tim', 'Frances'];
const FAMILY = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Thompson', 'Ritchie', 'Hamilton', 'Torvalds', 'Perlman', 'Allen', 'Wirth'];
export const BENCH_DOMAIN = 'bench.example.com';

export function populate(dir: Directory, spec: PopulationSpec): Population {
  const rnd = prng(spec.seed ?? 15);
  const groupCount = spec.teamGroups ?? 50;
  const share = spec.inGroups ?? 0.02;
  const groups: DirectoryGroup[] = [];
  for (let k = 0; k < groupCount; k++) groups.push(dir.addGroup(`${ORGS[k % ORGS.length]}:team${k}`));
  // Exactly the share joins a group, spread evenly over the ids (Bresenham), the groups taking turns.
  const members = groups.length > 0 ? Math.round(spec.users * share) : 0;
  const users: DirectoryUser[] = [];
  const membership = new Map<string, DirectoryGroup>();
  for (let i = 0; i < spec.users; i++) {
    const given = GIVEN[i % GIVEN.length] as string;
    const family = FAMILY[Math.floor(i / GIVEN.length) % FAMILY.length] as string;
    const attributes: Record<string, string> = {};
    const r = rnd();
    if (r < 0.01) attributes.dockerRole = 'owner';
    else if (r < 0.1) attributes.dockerRole = 'editor';
    if (rnd() < 0.05) attributes.dockerOrg = 'acmelabs';
    const u = dir.addUser({ email: `${given}.${family}.${i}@${BENCH_DOMAIN}`.toLowerCase(), givenName: given, familyName: family, attributes });
    users.push(u);
    if (Math.floor(((i + 1) * members) / spec.users) > Math.floor((i * members) / spec.users)) {
      const g = groups[membership.size % groups.length] as DirectoryGroup;
      g.members.add(u.id);
      membership.set(u.id, g);
    }
  }
  dir.version++;
  return { users, groups, membership };
}

/** What a change set did, by kind; `users` counts distinct people touched. */
export interface ChangeSummary {
  readonly renamed: number;
  readonly roleChanged: number;
  readonly unassigned: number;
  readonly joined: number;
  readonly left: number;
  /** New people assigned to the app (the few-changes sets only). */
  readonly assigned?: number;
  readonly users: number;
}

/** How a change set is split between kinds (shares of the people changed). */
const MIX = { renamed: 0.3, roleChanged: 0.2, unassigned: 0.2, joined: 0.15, left: 0.15 } as const;

/**
 * Changes `share` of the population in the IdP, each person once: new family names, new roles,
 * unassignments (deactivations in Docker), and team group joins and leaves. Leavers are taken from
 * group members, everyone else from the rest, so every change is one a sync must carry to Docker.
 */
export function changeShare(dir: Directory, pop: Population, share: number, seed = 1515): ChangeSummary {
  const total = Math.round(pop.users.length * share);
  const counts = split(total);
  const rnd = prng(seed);
  const inGroups = pop.users.filter((u) => pop.membership.has(u.id));
  const outside = pop.users.filter((u) => !pop.membership.has(u.id) && u.assigned);
  const leavers = take(inGroups, Math.min(counts.left, inGroups.length), rnd);
  const others = take(outside, counts.renamed + counts.roleChanged + counts.unassigned + counts.joined, rnd);
  let at = 0;
  const next = (n: number): DirectoryUser[] => others.slice(at, (at += n));

  for (const u of next(counts.renamed)) dir.updateUser(u.id, { familyName: `${u.familyName ?? ''}-Renamed` });
  for (const u of next(counts.roleChanged)) dir.setAttribute(u.id, 'dockerRole', u.attributes.dockerRole === 'editor' ? 'owner' : 'editor');
  for (const u of next(counts.unassigned)) dir.updateUser(u.id, { assigned: false });
  const joiners = next(counts.joined);
  joiners.forEach((u, i) => dir.addMember((pop.groups[i % pop.groups.length] as DirectoryGroup).id, u.id));
  for (const u of leavers) dir.removeMember((pop.membership.get(u.id) as DirectoryGroup).id, u.id);
  return {
    renamed: counts.renamed,
    roleChanged: counts.roleChanged,
    unassigned: counts.unassigned,
    joined: joiners.length,
    left: leavers.length,
    users: others.length + leavers.length,
  };
}

/** `total` split by MIX, rounding so the parts add up to it. */
export function split(total: number): Record<keyof typeof MIX, number> {
  const out = { renamed: 0, roleChanged: 0, unassigned: 0, joined: 0, left: 0 };
  let given = 0;
  for (const k of Object.keys(MIX) as (keyof typeof MIX)[]) {
    out[k] = Math.floor(total * MIX[k]);
    given += out[k];
  }
  // What rounding left over goes to renames, the commonest change.
  out.renamed += total - given;
  return out;
}

/**
 * One change to one person, chosen before it is made, with what Docker shows once it has landed
 * (bench/landed.ts). `userName` is the Docker userName the sync gives the person: their email.
 */
export type FewChange =
  | { readonly kind: 'renamed'; readonly userId: string; readonly userName: string; readonly familyName: string }
  | { readonly kind: 'roleChanged'; readonly userId: string; readonly userName: string; readonly role: 'editor' | 'owner' }
  | { readonly kind: 'unassigned'; readonly userId: string; readonly userName: string }
  | { readonly kind: 'joined'; readonly userId: string; readonly userName: string; readonly groupId: string; readonly team: string }
  | { readonly kind: 'assigned'; readonly userName: string; readonly givenName: string; readonly familyName: string };

export type FewKind = FewChange['kind'];

/** How many changes of each kind a few-changes set makes. */
export type FewMix = Readonly<Record<FewKind, number>>;

/** The incremental workload's 10 changes (issue 15: "an incremental run on 100,000 with 10 changes"). */
export const TEN_CHANGES: FewMix = { renamed: 3, roleChanged: 2, unassigned: 2, joined: 2, assigned: 1 };
/** The freshness workload's: one of each kind the issue names (attribute, role, unassignment, group, assignment). */
export const ONE_OF_EACH: FewMix = { renamed: 1, roleChanged: 1, unassigned: 1, joined: 1, assigned: 1 };

/**
 * Chooses a few changes on the directory as it is now, without making them: distinct people,
 * each assigned directly and in no team group (so an unassignment really takes the app away, and
 * a join is a new membership), every new value different from the present one. The world may
 * have been changed by earlier workloads; the choice looks at it as it is, and a different
 * `seed` picks other people. New people get addresses made from the seed, so two sets never clash.
 */
export function planFewChanges(dir: Directory, pop: Population, mix: FewMix, seed: number): FewChange[] {
  const rnd = prng(seed);
  const inGroups = new Set(pop.groups.flatMap((g) => [...g.members]));
  const free = pop.users.filter((u) => {
    const now = dir.users.get(u.id);
    return now !== undefined && now.assigned && now.email !== null && !inGroups.has(u.id);
  });
  const existing = mix.renamed + mix.roleChanged + mix.unassigned + mix.joined;
  if (existing > free.length) throw new Error(`a set of ${existing} changes to existing people needs as many assigned users outside team groups; the world has ${free.length}`);
  if (mix.joined > 0 && pop.groups.length === 0) throw new Error('a team group join needs a team group; the population has none');
  const people = take(free, existing, rnd);
  let at = 0;
  const next = (n: number): DirectoryUser[] => people.slice(at, (at += n));
  const userName = (u: DirectoryUser) => (u.email as string).toLowerCase();
  const out: FewChange[] = [];
  for (const u of next(mix.renamed)) out.push({ kind: 'renamed', userId: u.id, userName: userName(u), familyName: `${u.familyName ?? ''}-Renamed` });
  for (const u of next(mix.roleChanged)) out.push({ kind: 'roleChanged', userId: u.id, userName: userName(u), role: u.attributes.dockerRole === 'editor' ? 'owner' : 'editor' });
  for (const u of next(mix.unassigned)) out.push({ kind: 'unassigned', userId: u.id, userName: userName(u) });
  next(mix.joined).forEach((u, i) => {
    const g = pop.groups[(seed + i) % pop.groups.length] as DirectoryGroup;
    out.push({ kind: 'joined', userId: u.id, userName: userName(u), groupId: g.id, team: g.name });
  });
  for (let i = 0; i < mix.assigned; i++) {
    const given = GIVEN[(seed + i) % GIVEN.length] as string;
    out.push({ kind: 'assigned', userName: `${given}.newcomer.${seed}.${i}@${BENCH_DOMAIN}`.toLowerCase(), givenName: given, familyName: 'Newcomer' });
  }
  return out;
}

/** Makes one planned change through the Directory's own methods, so its change log (the feeds' source) records it. */
export function makeChange(dir: Directory, c: FewChange): void {
  switch (c.kind) {
    case 'renamed':
      dir.updateUser(c.userId, { familyName: c.familyName });
      return;
    case 'roleChanged':
      dir.setAttribute(c.userId, 'dockerRole', c.role);
      return;
    case 'unassigned':
      dir.updateUser(c.userId, { assigned: false });
      return;
    case 'joined':
      dir.addMember(c.groupId, c.userId);
      return;
    case 'assigned':
      dir.addUser({ email: c.userName, givenName: c.givenName, familyName: c.familyName });
      return;
  }
}

/** A few-changes set by kind, as the reports show change sets. */
export function summarizeFew(changes: readonly FewChange[]): ChangeSummary {
  const n = (k: FewKind) => changes.filter((c) => c.kind === k).length;
  return { renamed: n('renamed'), roleChanged: n('roleChanged'), unassigned: n('unassigned'), joined: n('joined'), left: 0, assigned: n('assigned'), users: new Set(changes.map((c) => c.userName)).size };
}

/** `n` distinct items chosen at random (a partial Fisher–Yates shuffle of a copy). */
function take<T>(items: readonly T[], n: number, rnd: () => number): T[] {
  const a = [...items];
  const count = Math.min(n, a.length);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(rnd() * (a.length - i));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a.slice(0, count);
}
