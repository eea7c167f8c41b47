import { Directory } from './directory.ts';

/**
 * Seeded, deterministic test data: ordinary people spread across Docker's attribute rules and
 * org:team groups, plus the bad records an admin meets in real directories.
 */

export interface SeedOptions {
  users: number;
  /** Organizations the Docker emulator knows; the first is the default org. */
  orgs?: readonly string[];
  /** org:team groups assigned to the app. */
  teamGroups?: number;
  /** Add the edge-case records (invalid email, unknown role, malformed group, duplicates, …). */
  edgeCases?: boolean;
  seed?: number;
  /** Email domain of generated people. */
  domain?: string;
}

export const DEFAULT_ORGS = ['acme', 'acmelabs'] as const;

/** The edge cases seedDirectory adds, by email (or label), for tests to find them. */
export const EDGE = {
  invalidEmail: 'not-an-email',
  unknownRole: 'role.typo@example.com',
  malformedGroup: 'acme:platform:extra',
  malformedGroupMember: 'grouped.badly@example.com',
  duplicateA: 'Dup.Person@example.com',
  duplicateB: 'dup.person@example.com',
  longName: 'long.name@example.com',
  nonAscii: 'zoe.angstrom@example.com',
  quoteInEmail: 'o"hara@example.com',
  apostropheName: 'o.brien@example.com',
} as const;

const GIVEN = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Ken', 'Dennis', 'Margaret', 'Linus', 'Radia', 'Tim', 'Frances', 'John', 'Sophie', 'Niklaus', 'Hedy'];
const FAMILY = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Thompson', 'Ritchie', 'Hamilton', 'Torvalds', 'Perlman', 'Berners-Lee', 'Allen', 'Backus', 'Wilson', 'Wirth', 'Lamarr'];
const TEAMS = ['backend', 'frontend', 'platform', 'data', 'security', 'mobile', 'sre', 'design'];

/** mulberry32: tiny, fast, deterministic. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seedDirectory(dir: Directory, opts: SeedOptions): Directory {
  const rnd = prng(opts.seed ?? 42);
  const orgs = opts.orgs ?? DEFAULT_ORGS;
  const domain = opts.domain ?? 'example.com';
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;

  const groupCount = opts.teamGroups ?? Math.min(8, Math.max(2, Math.ceil(opts.users / 10)));
  const teamGroups = [];
  for (let i = 0; i < groupCount; i++) {
    const org = orgs[i % orgs.length] as string;
    const team = `${TEAMS[i % TEAMS.length]}${i >= TEAMS.length ? i : ''}`;
    teamGroups.push(dir.addGroup(`${org}:${team}`));
  }
  // A group assigned only to give people the app, as many tenants do: no org:team name.
  const allStaff = dir.addGroup('Docker Users');

  for (let i = 0; i < opts.users; i++) {
    const given = pick(GIVEN);
    const family = pick(FAMILY);
    const email = `${given}.${family}.${i}@${domain}`.toLowerCase();
    const r = rnd();
    const attributes: Record<string, string> = {};
    if (r < 0.15) attributes.dockerTeam = pick(TEAMS);
    else if (r < 0.25) attributes.dockerOrg = pick(orgs);
    else if (r < 0.35) {
      attributes.dockerOrg = pick(orgs);
      attributes.dockerTeam = pick(TEAMS);
    }
    const rr = rnd();
    if (rr < 0.08) attributes.dockerRole = 'owner';
    else if (rr < 0.2) attributes.dockerRole = 'editor';
    // One in ten gets the app only through the "Docker Users" group.
    const viaGroup = rnd() < 0.1;
    const u = dir.addUser({ email, givenName: given, familyName: family, assigned: !viaGroup, attributes });
    if (viaGroup) allStaff.members.add(u.id);
    const memberships = Math.floor(rnd() * 3);
    for (let k = 0; k < memberships && teamGroups.length > 0; k++) pick(teamGroups).members.add(u.id);
  }

  if (opts.edgeCases) addEdgeCases(dir, orgs[0] as string);
  return dir;
}

export function addEdgeCases(dir: Directory, org: string): void {
  dir.addUser({ email: EDGE.invalidEmail, givenName: 'Invalid', familyName: 'Email' });
  dir.addUser({ email: EDGE.unknownRole, givenName: 'Role', familyName: 'Typo', attributes: { dockerRole: 'superuser' } });
  const bad = dir.addGroup(EDGE.malformedGroup);
  const member = dir.addUser({ email: EDGE.malformedGroupMember, givenName: 'Grouped', familyName: 'Badly' });
  bad.members.add(member.id);
  dir.addUser({ email: EDGE.duplicateA, givenName: 'Dup', familyName: 'Upper' });
  dir.addUser({ email: EDGE.duplicateB, givenName: 'Dup', familyName: 'Lower' });
  dir.addUser({ email: EDGE.longName, givenName: 'L'.repeat(300), familyName: 'Name' });
  dir.addUser({ email: EDGE.nonAscii, givenName: 'Zoë', familyName: 'Ångström-Łukasiewicz', attributes: { dockerOrg: org } });
  dir.addUser({ email: EDGE.quoteInEmail, givenName: 'Quote', familyName: 'Email' });
  dir.addUser({ email: EDGE.apostropheName, givenName: "Siobhán", familyName: "O'Brien" });
}
