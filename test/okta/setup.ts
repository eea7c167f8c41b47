import { Directory } from '../../src/sandbox/directory.ts';
import { OktaEmulator, type OktaEmulatorOptions } from '../../src/sandbox/okta/emulator.ts';
import { createOktaSource, type OktaSourceOptions } from '../../src/sources/okta/index.ts';
import type { Source } from '../../src/model/idp.ts';
import { captureLogs, type LogCapture } from '../support/logs.ts';

export { captureLogs, rejectionOf, type LogCapture } from '../support/logs.ts';

/** Shared setup for the Okta tests: a directory people can recognise, an emulator, a source, captured logs. */

export const PEOPLE = {
  /** Attributes as string, array and null. */
  alice: 'alice@example.com',
  /** Disabled in the directory: AppUser INACTIVE, user DEPROVISIONED. */
  bob: 'bob@example.com',
  /** Has the app only through the "Docker Users" group (scope GROUP). */
  carol: 'carol@example.com',
  /** Member of two org:team groups. */
  dave: 'dave@example.com',
  /** Member of acme:backend whose app assignment Okta has not applied yet. */
  erin: 'erin@example.com',
} as const;

export interface Fixture {
  dir: Directory;
  emu: OktaEmulator;
  base: string;
  logs: LogCapture;
  source(overrides?: Partial<OktaSourceOptions>): Source;
  stop(): Promise<void>;
}

/**
 * `users` plain directly-assigned people, plus the named PEOPLE, three org:team groups (two
 * assigned, one not), and "Docker Users", an assigned group that only grants the app.
 */
export function buildDirectory(users: number): Directory {
  const dir = new Directory();
  for (let i = 0; i < users; i++) {
    dir.addUser({ email: `user${i}@example.com`, givenName: `Given${i}`, familyName: `Family${i}` });
  }
  dir.addUser({
    email: PEOPLE.alice,
    givenName: 'Alice',
    familyName: 'Anders',
    attributes: { dockerRole: 'owner', dockerOrg: ['acme', 'acmelabs'], dockerTeam: null },
  });
  dir.addUser({ email: PEOPLE.bob, givenName: 'Bob', familyName: 'Brown', enabled: false, attributes: { dockerRole: 'member' } });
  dir.addUser({ email: PEOPLE.carol, givenName: 'Carol', familyName: 'Clark', assigned: false });
  dir.addUser({ email: PEOPLE.dave, givenName: 'Dave', familyName: 'Dunn', attributes: { dockerTeam: ['backend', ''] } });
  dir.addUser({ email: PEOPLE.erin, givenName: 'Erin', familyName: 'Evans', assigned: false });

  const backend = dir.addGroup('acme:backend');
  const data = dir.addGroup('acme:data');
  dir.addGroup('acmelabs:unassigned', { assigned: false });
  const staff = dir.addGroup('Docker Users');
  dir.addMember(backend.id, PEOPLE.dave);
  dir.addMember(backend.id, PEOPLE.alice);
  dir.addMember(backend.id, PEOPLE.erin);
  dir.addMember(data.id, PEOPLE.dave);
  dir.addMember(staff.id, PEOPLE.carol);
  dir.addMember('acmelabs:unassigned', PEOPLE.bob);
  return dir;
}

/** Retry timing small enough for tests; everything else as in production. */
export const FAST = { timeoutMs: 5_000, maxRetries: 2, backoff: { baseMs: 5, capMs: 20 } } as const;

export async function startFixture(opts: { users?: number; dir?: Directory; emulator?: Partial<OktaEmulatorOptions> } = {}): Promise<Fixture> {
  const dir = opts.dir ?? buildDirectory(opts.users ?? 20);
  const emu = new OktaEmulator({ directory: dir, ...opts.emulator });
  const base = await emu.start();
  const logs = captureLogs();
  return {
    dir,
    emu,
    base,
    logs,
    source: (overrides = {}) =>
      createOktaSource({
        orgUrl: base,
        appId: emu.appId,
        auth: { kind: 'token', token: emu.apiToken },
        logger: logs.logger,
        ...FAST,
        ...overrides,
      }),
    stop: () => emu.stop(),
  };
}
