import fc from 'fast-check';
import type { DockerRole } from '../../src/model/docker.ts';
import type { IdpGroup, IdpSnapshot, IdpUser } from '../../src/model/idp.ts';
import type { LinkOrigin } from '../../src/model/link.ts';
import type { AccountSeed, GroupSeed } from './docker-model.ts';

/**
 * fast-check generators for whole worlds: an IdP snapshot, a Docker state and the stored links
 * between them. Values are drawn from small pools on purpose, so collisions (the same email in
 * other letter case, an account both linked and claimed, a team in two spellings) are common rather
 * than astronomically rare. Valid org values stay within the model's configured orgs (acme,
 * acmelabs), so Docker accepts whatever the mapping rules accept.
 */

// ---- small pools ----

const LOCALS = ['ann', 'bob', 'cy', 'dee', 'eve', 'fay', 'gus', 'hal', 'ivy', 'jo'] as const;
const STRANGERS = ['jit.one@example.com', 'contractor@partner.example', 'Admin@Example.com', 'legacy@example.com'] as const;

/** One spelling of a string: as is, upper case, or capitalised. */
function spell(s: string, variant: number): string {
  if (variant === 1) return s.toUpperCase();
  if (variant === 2) return s.charAt(0).toUpperCase() + s.slice(1);
  return s;
}

const pooledEmail: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...LOCALS), fc.constantFrom(0, 0, 1, 2))
  .map(([local, variant]) => spell(`${local}@example.com`, variant));

const weightedBool = (trueWeight: number, falseWeight: number): fc.Arbitrary<boolean> =>
  fc.oneof({ weight: trueWeight, arbitrary: fc.constant(true) }, { weight: falseWeight, arbitrary: fc.constant(false) });

// ---- the IdP ----

/** What the IdP holds as userName: mostly valid pooled emails, some padded, some invalid. */
export const idpUserName: fc.Arbitrary<string | null> = fc.oneof(
  { weight: 14, arbitrary: pooledEmail },
  { weight: 1, arbitrary: fc.constantFrom(...LOCALS).map((l) => `  ${l}@example.com `) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<string | null>(null, '', 'not-an-email', 'ann@', 'a b@example.com', 'bob@@example.com', `${'x'.repeat(250)}@example.com`),
  },
);

const idpName: fc.Arbitrary<string | null> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('Ann', 'Bob', 'Lee', 'de la Cruz', 'Ng') },
  { weight: 3, arbitrary: fc.constantFrom<string | null>(null, '', '   ') },
  { weight: 1, arbitrary: fc.constantFrom('A\nB', 'x'.repeat(256)) },
);

const dockerRoleAttr: fc.Arbitrary<string[]> = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom<string[]>([], ['member'], ['editor'], ['Owner'], ['owner', 'OWNER'], [' ']) },
  { weight: 1, arbitrary: fc.constantFrom<string[]>(['admin'], ['member', 'editor']) },
);

const dockerOrgAttr: fc.Arbitrary<string[]> = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom<string[]>([], [], ['acme'], ['acmelabs'], ['ACMElabs'], [' acme ']) },
  { weight: 1, arbitrary: fc.constantFrom<string[]>(['bad org'], ['acme', 'acmelabs']) },
);

const dockerTeamAttr: fc.Arbitrary<string[]> = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom<string[]>([], [], ['web'], ['Web'], ['ops'], ['web', 'ops'], ['everyone']) },
  { weight: 1, arbitrary: fc.constantFrom<string[]>(['bad team'], ['a:b'], ['-x']) },
);

/** Group names as the IdP has them: org:team groups, a plain app group, and malformed ones. */
export const IDP_GROUPS = ['Docker Users', 'acme:web', 'acme:Ops', 'ACMELABS:research', 'acmelabs:web', 'acme:everyone', 'acme:bad team', 'a:b:c', 'acme:'] as const;

const idpUserRecord = fc.record({
  userName: idpUserName,
  givenName: idpName,
  familyName: idpName,
  active: weightedBool(4, 1),
  dockerRole: dockerRoleAttr,
  dockerOrg: dockerOrgAttr,
  dockerTeam: dockerTeamAttr,
  groups: fc.subarray([...IDP_GROUPS], { maxLength: 3 }),
});

export function idpSnapshotOf(users: readonly IdpUser[]): IdpSnapshot {
  const names = [...new Set(['Docker Users', ...users.flatMap((u) => u.groups)])];
  const groups: IdpGroup[] = names.map((name, i) => ({
    idpId: `g${i}`,
    name,
    memberCount: name.includes(':') ? users.filter((u) => u.groups.includes(name)).length : null,
  }));
  return { source: 'okta', users, groups, notes: [], stats: { requests: 0, pages: 0, durationMs: 0 } };
}

export const idpSnapshot = (maxUsers = 30): fc.Arbitrary<IdpSnapshot> =>
  fc
    .array(idpUserRecord, { maxLength: maxUsers, size: '+1' })
    .map((records) => idpSnapshotOf(records.map((r, i): IdpUser => ({ idpId: `u${i}`, ...r }))));

// ---- Docker ----

const account: fc.Arbitrary<AccountSeed> = fc.record({
  userName: fc.oneof({ weight: 5, arbitrary: pooledEmail }, { weight: 1, arbitrary: fc.constantFrom(...STRANGERS) }),
  givenName: fc.constantFrom<string | null>('Ann', 'Bob', 'Lee', 'Jit', null),
  familyName: fc.constantFrom<string | null>('Ng', 'de la Cruz', 'Hand', null),
  active: weightedBool(4, 1),
  // "Owner" is not something Docker's API takes; it stands for a value changed behind its back.
  role: fc.constantFrom('member', 'member', 'editor', 'owner', 'Owner'),
  org: fc.constantFrom('acme', 'acme', 'acmelabs'),
  team: fc.constantFrom<string | null>(null, 'everyone', 'everyone', 'web', 'Ops', 'legacy'),
});

/** Docker teams; 'acme:WEB' and 'acme:web' are one team in two spellings (Docker keeps the first). */
export const DOCKER_GROUPS = ['acme:web', 'acme:WEB', 'acme:Ops', 'acmelabs:research', 'acme:everyone', 'acmelabs:web', 'acme:legacy'] as const;

const groupSeed: fc.Arbitrary<GroupSeed> = fc.record({
  name: fc.constantFrom(...DOCKER_GROUPS),
  members: fc.array(fc.nat(19), { maxLength: 6 }),
});

export interface DockerSeed {
  readonly accounts: readonly AccountSeed[];
  readonly groups: readonly GroupSeed[];
  readonly echoExtension: boolean;
  /** Seats of the acmelabs org, or null for no limit: a limit makes some writes fail (403). */
  readonly acmelabsSeats: number | null;
  /** false: Docker refuses a PUT that changes userName (undocumented; the store can do either). */
  readonly allowRename: boolean;
}

export const dockerSeed: fc.Arbitrary<DockerSeed> = fc.record({
  accounts: fc.uniqueArray(account, { selector: (a) => a.userName.toLowerCase(), maxLength: 20, size: '+1' }),
  groups: fc.uniqueArray(groupSeed, { selector: (g) => g.name.toLowerCase(), maxLength: 6 }),
  echoExtension: weightedBool(6, 1),
  acmelabsSeats: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat(3) }),
  allowRename: weightedBool(6, 1),
});

// ---- stored links ----

/** Team keys a link may record as applied (some of them in no IdP or Docker group at all). */
export const APPLIED_TEAMS = ['acme:everyone', 'acme:web', 'acme:ops', 'acmelabs:research', 'acme:legacy', 'acme:gone'] as const;

/** What the link says this tool last applied, when it is not simply what Docker holds now. */
export interface AppliedSeed {
  /** Whose userName the tool last wrote: the IdP user's, the Docker account's, or an old one. */
  readonly userName: 'idp' | 'docker' | 'old';
  readonly givenName: string | null;
  readonly familyName: string | null;
  readonly active: boolean;
  readonly role: DockerRole;
  readonly org: string;
  readonly team: string | null;
  readonly teams: readonly string[];
}

export interface LinkSeed {
  /** An index into the snapshot's users, or a leaver the IdP no longer lists. */
  readonly idp: { readonly user: number } | { readonly leaver: number };
  /** An index into the seeded accounts, or an account that is gone from Docker. */
  readonly account: number | null;
  readonly origin: LinkOrigin;
  /** null: the link is in step with Docker (applied = what Docker holds, teams = its teams). */
  readonly applied: AppliedSeed | null;
}

const appliedSeed: fc.Arbitrary<AppliedSeed> = fc.record({
  userName: fc.constantFrom('idp', 'idp', 'docker', 'old'),
  givenName: fc.constantFrom<string | null>('Ann', 'Bob', null),
  familyName: fc.constantFrom<string | null>('Ng', 'Hand', null),
  active: weightedBool(5, 1),
  role: fc.constantFrom<DockerRole>('member', 'editor', 'owner'),
  org: fc.constantFrom('acme', 'acmelabs'),
  team: fc.constantFrom<string | null>(null, 'everyone', 'web', 'legacy'),
  teams: fc.subarray([...APPLIED_TEAMS], { maxLength: 3 }),
});

const linkSeed: fc.Arbitrary<LinkSeed> = fc.record({
  idp: fc.oneof(
    { weight: 5, arbitrary: fc.nat(29).map((user) => ({ user })) },
    { weight: 1, arbitrary: fc.nat(3).map((leaver) => ({ leaver })) },
  ),
  account: fc.option(fc.nat(19), { nil: null, freq: 6 }),
  origin: fc.constantFrom<LinkOrigin>('created', 'adopted'),
  applied: fc.option(appliedSeed, { nil: null, freq: 2 }),
});

// ---- a whole world ----

export interface World {
  readonly idp: IdpSnapshot;
  readonly docker: DockerSeed;
  readonly links: readonly LinkSeed[];
}

export const world = (maxUsers = 30): fc.Arbitrary<World> =>
  fc.record({
    idp: idpSnapshot(maxUsers),
    docker: dockerSeed,
    links: fc.array(linkSeed, { maxLength: 16, size: '+1' }),
  });

/** A permutation seed: a world must plan the same whatever order its lists come in. */
export const shuffleSeed: fc.Arbitrary<number> = fc.noShrink(fc.integer({ min: 1, max: 0x7fffffff }));

/** A deterministic shuffle (mulberry32), so a failing seed replays. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const a = out[i] as T;
    out[i] = out[j] as T;
    out[j] = a;
  }
  return out;
}
