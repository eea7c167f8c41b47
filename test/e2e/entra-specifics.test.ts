import { describe, expect, it } from 'vitest';
import type { Directory } from '../../src/sandbox/directory.ts';
import type { RequestRecord } from '../../src/sandbox/http/emulator.ts';
import { scenarioPerTest } from '../support/harness.ts';

/**
 * Docker's Entra guide, through the real Graph SDK against the Graph emulator: a user with several
 * app roles (ENTRA_ROLE_CONFLICT), and `mail → emails` where it differs from the UPN
 * (ENTRA_EMAIL_SOURCE), as Docker's Entra mapping sends it.
 */

const TIMEOUT = 60_000;

/** Two people of Docker's Entra guide: one with two app roles, one whose mail is not their UPN. */
function seed(dir: Directory): void {
  dir.addUser({ email: 'pat@example.com', givenName: 'Pat', familyName: 'Two-Roles', attributes: { dockerRole: ['member', 'owner'] } });
  dir.addUser({ email: 'ada@example.com', givenName: 'Ada', familyName: 'Lovelace', entra: { mail: 'ada.lovelace@example.com' } });
  dir.addUser({ email: 'bob@example.com', givenName: 'Bob', familyName: 'Same', entra: { mail: 'BOB@example.com' } });
}

type UserBody = { userName: string; emails?: Array<{ value: string; primary?: boolean }> };
const bodyOf = (r: RequestRecord) => r.body as UserBody;
/** The user writes Docker received, by userName. */
function userWrites(records: RequestRecord[], userName: string): RequestRecord[] {
  return records.filter((r) => r.path.includes('/Users') && bodyOf(r)?.userName?.toLowerCase() === userName);
}

describe("Entra specifics from Docker's guide", () => {
  const s = scenarioPerTest({ source: 'entra' }, (sc) => seed(sc.directory));

  it(
    'two app roles: held by default; with ENTRA_ROLE_CONFLICT=highest the user is an owner in Docker, and the report says why',
    async () => {
      const held = await s.sync();
      expect(held.plan.findings).toContainEqual(expect.objectContaining({ code: 'AMBIGUOUS_ATTRIBUTE', subject: 'pat@example.com' }));
      expect(userWrites(s.docker.http.writes(), 'pat@example.com')).toEqual([]);
      expect(s.docker.user('pat@example.com')).toBeUndefined();

      const run = await s.sync({ env: { ENTRA_ROLE_CONFLICT: 'highest' } });
      expect(run.outcome.result.status).toBe('succeeded');
      expect(s.docker.user('pat@example.com')).toMatchObject({ active: true, role: 'owner', org: 'acme' });
      expect(run.plan.findings.filter((f) => f.subject === 'pat@example.com')).toEqual([
        expect.objectContaining({ code: 'ROLE_CONFLICT_RESOLVED', severity: 'info', message: expect.stringContaining('member, owner') }),
      ]);
      const again = await s.sync({ env: { ENTRA_ROLE_CONFLICT: 'highest' } });
      expect(again.writes).toBe(0);
    },
    TIMEOUT,
  );

  it(
    "mail unlike the UPN goes to Docker's emails; a changed mail is one update (the change feed names it), then nothing",
    async () => {
      // Incremental from the start, as the daemon runs: the first run is full and keeps the feed's cursor.
      await s.sync({ incremental: true });
      const created = s.docker.http.writes().filter((r) => r.route === 'createUser');
      expect(bodyOf(userWrites(created, 'ada@example.com')[0] as RequestRecord).emails).toEqual([{ value: 'ada.lovelace@example.com', primary: true }]);
      // A mail that is the UPN in another case is no address of its own.
      expect(bodyOf(userWrites(created, 'bob@example.com')[0] as RequestRecord).emails).toEqual([{ value: 'bob@example.com', primary: true }]);
      expect(s.docker.user('ada@example.com')?.email).toBe('ada.lovelace@example.com');

      s.directory.updateUser('ada@example.com', { entra: { mail: 'ada.king@example.com' } });
      const before = s.docker.http.writes().length;
      const changed = await s.sync({ incremental: true });
      expect(changed.plan.coverage).toMatchObject({ mode: 'incremental' });
      const writes = s.docker.http.writes().slice(before);
      expect(writes.map((r) => `${r.method} ${bodyOf(r).userName}`)).toEqual(['PUT ada@example.com']);
      expect(bodyOf(writes[0] as RequestRecord).emails).toEqual([{ value: 'ada.king@example.com', primary: true }]);
      expect(changed.plan.operations).toMatchObject([{ kind: 'update', changes: [{ field: 'email', before: 'ada.lovelace@example.com', after: 'ada.king@example.com' }] }]);
      // An IdP change, not something done behind the tool's back.
      expect(changed.plan.findings.map((f) => f.code)).not.toContain('DRIFT');

      const again = await s.sync();
      expect(again.writes).toBe(0);
      expect(again.plan.operations).toEqual([]);
      expect(again.plan.findings.map((f) => f.code)).not.toContain('DRIFT');
    },
    TIMEOUT,
  );

  it(
    'ENTRA_EMAIL_SOURCE=userName: emails is the UPN',
    async () => {
      const env = { ENTRA_EMAIL_SOURCE: 'userName' };
      await s.sync({ env });
      const create = userWrites(s.docker.http.writes(), 'ada@example.com');
      expect(create.map((r) => bodyOf(r).emails)).toEqual([[{ value: 'ada@example.com', primary: true }]]);
      expect(s.docker.user('ada@example.com')?.email).toBe('ada@example.com');
      expect((await s.sync({ env })).writes).toBe(0);
    },
    TIMEOUT,
  );
});
