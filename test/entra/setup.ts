import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { Directory } from '../../src/sandbox/directory.ts';
import { GraphEmulator, type GraphEmulatorOptions } from '../../src/sandbox/entra/emulator.ts';
import { createEntraSource, type EntraSourceOptions } from '../../src/sources/entra/index.ts';
import type { IdpSnapshot, IdpUser, Source } from '../../src/model/idp.ts';
import { trustCertificates } from '../../src/util/tls.ts';
import { captureLogs, type LogCapture } from '../support/logs.ts';

/** Shared setup for the Entra tests: a directory people can recognise, a Graph emulator over TLS, a source, captured logs. */

export { captureLogs, rejectionOf, type LogCapture } from '../support/logs.ts';

export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

export const PEOPLE = {
  /** Directly assigned with the app role owner; org and teams in directory extensions (string, array); in acme:backend. */
  alice: 'alice@example.com',
  /** Directly assigned, account disabled. */
  bob: 'bob@example.com',
  /** Assigned only through "Docker Users", whose assignment grants the role member. */
  carol: 'carol@example.com',
  /** Assigned only through acme:backend (default access) and acme:data (editor). */
  dave: 'dave@example.com',
  /** Member of acme:platform, which is nested in acme:backend and not assigned itself. */
  erin: 'erin@example.com',
  /** A guest (UPN with #EXT#) without a mail address: no usable email. */
  frank: 'frank@partner.example',
  /** A guest with a mail address. */
  grace: 'grace@partner.example',
  /** UPN and mail differ. */
  heidi: 'heidi@example.com',
} as const;

export const GUEST_UPN = {
  frank: 'frank_partner.example#EXT#@sandbox.onmicrosoft.com',
  grace: 'grace_partner.example#EXT#@sandbox.onmicrosoft.com',
} as const;
export const HEIDI_UPN = 'heidi.hopper@corp.example.com';

/**
 * `users` plain directly-assigned people, plus the named PEOPLE and these groups:
 * acme:backend (assigned, default access; alice, dave; nests acme:platform), acme:data (assigned,
 * role editor; dave), acme:platform (not assigned; erin), Docker Users (assigned, role member;
 * carol), acmelabs:unassigned (not assigned; bob).
 */
export function buildDirectory(users: number): Directory {
  const dir = new Directory();
  for (let i = 0; i < users; i++) dir.addUser({ email: `user${i}@example.com`, givenName: `Given${i}`, familyName: `Family${i}` });
  dir.addUser({ email: PEOPLE.alice, givenName: 'Alice', familyName: 'Anders', attributes: { dockerRole: 'owner', dockerOrg: 'acme', dockerTeam: ['backend', 'data'] } });
  dir.addUser({ email: PEOPLE.bob, givenName: 'Bob', familyName: 'Brown', enabled: false, attributes: { dockerRole: 'member' } });
  dir.addUser({ email: PEOPLE.carol, givenName: 'Carol', familyName: 'Clark', assigned: false });
  dir.addUser({ email: PEOPLE.dave, givenName: 'Dave', familyName: 'Dunn', assigned: false, attributes: { dockerTeam: 'platform' } });
  dir.addUser({ email: PEOPLE.erin, givenName: 'Erin', familyName: 'Evans', assigned: false });
  dir.addUser({ email: PEOPLE.frank, givenName: 'Frank', familyName: 'Fox', entra: { userPrincipalName: GUEST_UPN.frank, mail: null } });
  dir.addUser({ email: PEOPLE.grace, givenName: 'Grace', familyName: 'Green', entra: { userPrincipalName: GUEST_UPN.grace } });
  dir.addUser({ email: PEOPLE.heidi, givenName: 'Heidi', familyName: 'Hopper', entra: { userPrincipalName: HEIDI_UPN, mail: PEOPLE.heidi } });

  const backend = dir.addGroup('acme:backend');
  const data = dir.addGroup('acme:data', { appRole: 'editor' });
  const platform = dir.addGroup('acme:platform', { assigned: false });
  const staff = dir.addGroup('Docker Users', { appRole: 'member' });
  dir.addGroup('acmelabs:unassigned', { assigned: false });
  dir.addMember(backend.id, PEOPLE.alice);
  dir.addMember(backend.id, PEOPLE.dave);
  dir.addMember(data.id, PEOPLE.dave);
  dir.addMember(platform.id, PEOPLE.erin);
  dir.nestGroup(backend.id, platform.id);
  dir.addMember(staff.id, PEOPLE.carol);
  dir.addMember('acmelabs:unassigned', PEOPLE.bob);
  return dir;
}

/** Retry timing small enough for tests; everything else as in production. */
export const FAST = { timeoutMs: 5_000, maxRetries: 2, backoff: { baseMs: 5, capMs: 20 } } as const;

export interface Fixture {
  dir: Directory;
  emu: GraphEmulator;
  origin: string;
  logs: LogCapture;
  /** A source reading the emulator with the client secret, attributes where the emulator puts them. */
  source(overrides?: Partial<EntraSourceOptions>): Source;
  /** The options `source()` uses, for tests that change one thing. */
  options(overrides?: Partial<EntraSourceOptions>): EntraSourceOptions;
  stop(): Promise<void>;
}

export async function startFixture(opts: { users?: number; dir?: Directory; emulator?: Partial<GraphEmulatorOptions> } = {}): Promise<Fixture> {
  const dir = opts.dir ?? buildDirectory(opts.users ?? 20);
  const emu = new GraphEmulator({ directory: dir, ...opts.emulator });
  const origin = await emu.start();
  // In-process trust for both the credential (node:https) and the Graph client (fetch); never an insecure flag.
  trustCertificates([emu.certificate.caPem]);
  const logs = captureLogs();
  const options = (overrides: Partial<EntraSourceOptions> = {}): EntraSourceOptions => ({
    tenantId: emu.tenantId,
    clientId: emu.clientId,
    credential: { kind: 'secret', secret: emu.clientSecret },
    appId: emu.appId,
    authorityHost: origin,
    graphBaseUrl: origin,
    graphScope: GRAPH_SCOPE,
    attributes: {
      dockerRole: { kind: 'appRole' },
      dockerOrg: { kind: 'extension', property: emu.extensionProperty('dockerOrg') },
      dockerTeam: { kind: 'extension', property: emu.extensionProperty('dockerTeam') },
    },
    userNameSource: 'userPrincipalName',
    groupMembership: 'direct',
    logger: logs.logger,
    ...FAST,
    ...overrides,
  });
  return { dir, emu, origin, logs, options, source: (overrides = {}) => createEntraSource(options(overrides)), stop: () => emu.stop() };
}

export function byName(snap: IdpSnapshot, userName: string): IdpUser {
  const u = snap.users.find((x) => x.userName === userName);
  if (!u) throw new Error(`${userName} not in snapshot (${snap.users.map((x) => x.userName).join(', ')})`);
  return u;
}

export function byId(snap: IdpSnapshot, idpId: string): IdpUser {
  const u = snap.users.find((x) => x.idpId === idpId);
  if (!u) throw new Error(`${idpId} not in snapshot`);
  return u;
}

/** A self-signed RSA certificate and key, as an admin would upload and keep (PEM, key + certificate in one file). */
export async function makeClientCertificate(): Promise<{ certPem: string; file: string; dir: string; keyPem: string; cleanup(): void }> {
  const pair = await generate([{ name: 'commonName', value: 'docker-idp-sync test client' }], { keyType: 'rsa', keySize: 2048, algorithm: 'sha256' });
  const dir = mkdtempSync(join(tmpdir(), 'entra-cert-'));
  const file = join(dir, 'client.pem');
  writeFileSync(file, `${pair.private.trim()}\n${pair.cert.trim()}\n`, { mode: 0o600 });
  return { certPem: pair.cert, keyPem: pair.private, file, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
