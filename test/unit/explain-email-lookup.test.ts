import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFilter } from '../../src/sandbox/entra/filter.ts';
import { Directory } from '../../src/sandbox/directory.ts';
import { parseUserSearch } from '../../src/sandbox/okta/user-search.ts';
import { emailFilter, odataString } from '../../src/sources/entra/find-users.ts';
import { emailSearch } from '../../src/sources/okta/find-users.ts';
import { searchString } from '../../src/sources/okta/transform.ts';
import { openState } from '../../src/state/open.ts';

/**
 * How `explain` and `sync --user` find a person from an email: the search each IdP is sent (a
 * quote in an address cannot end the string and add a clause of its own), the emulators' reading
 * of it, and the state file's links by userName, without regard to case.
 */

describe('Okta: GET /api/v1/users?search=profile.login eq "…" or profile.email eq "…"', () => {
  it('escapes quotes and backslashes, and drops control characters', () => {
    expect(searchString('a"b\\c@x.com')).toBe('"a\\"b\\\\c@x.com"');
    expect(searchString('a\nb@x.com')).toBe('"ab@x.com"');
    expect(emailSearch(['ada@example.com', 'bob@example.com'])).toBe(
      'profile.login eq "ada@example.com" or profile.email eq "ada@example.com" or profile.login eq "bob@example.com" or profile.email eq "bob@example.com"',
    );
  });

  it('the emulator finds exactly the user named, a quote in the address included, without regard to case', () => {
    const dir = new Directory();
    const quoted = dir.addUser({ email: 'o"neil@example.com' });
    const plain = dir.addUser({ email: 'ada@example.com' });
    const select = (emails: string[]) => [...dir.users.values()].filter(parseUserSearch(emailSearch(emails))).map((u) => u.id);
    expect(select(['O"Neil@Example.com'])).toEqual([quoted.id]);
    expect(select(['ada@example.com" or profile.email sw "'])).toEqual([]);
    expect(select(['ADA@example.com'])).toEqual([plain.id]);
  });
});

describe("Entra: GET /users?$filter=userPrincipalName eq '…' or mail eq '…'", () => {
  it('doubles quotes, as OData string literals do', () => {
    expect(odataString("o'neil@example.com")).toBe("'o''neil@example.com'");
    expect(emailFilter(["o'neil@example.com"])).toBe("userPrincipalName eq 'o''neil@example.com' or mail eq 'o''neil@example.com'");
  });

  it('the emulator finds exactly the user named, and refuses what it does not serve', () => {
    const rows = [
      { id: '1', userPrincipalName: "o'neil@example.com", mail: null },
      { id: '2', userPrincipalName: 'ada@example.com', mail: 'Ada.Lovelace@example.com' },
    ];
    const select = (text: string) => {
      const f = parseFilter(text, ['id', 'userPrincipalName', 'mail']);
      if (typeof f === 'string') throw new Error(f);
      return rows.filter(f).map((r) => r.id);
    };
    expect(select(emailFilter(["O'Neil@example.com"]))).toEqual(['1']);
    expect(select(emailFilter(['ada.lovelace@example.com']))).toEqual(['2']);
    expect(select(emailFilter(["ada@example.com' or mail eq 'x"]))).toEqual([]);
    expect(select("(id eq '1' or id eq '2') and mail eq 'ada.lovelace@example.com'")).toEqual(['2']);
    expect(parseFilter("displayName eq 'x'", ['id', 'mail'])).toMatch(/Unsupported or invalid query filter clause/);
    expect(parseFilter("startswith(mail,'a')", ['id', 'mail'])).toEqual(expect.any(String));
    expect(parseFilter("mail eq 'open", ['mail'])).toBe('unterminated string literal');
  });
});

describe('the state file finds links by userName', () => {
  it('without regard to case, one query, and no one else', () => {
    const s = openState({ path: join(mkdtempSync(join(tmpdir(), 'state-')), 'state.db') });
    const run = s.startRun('okta', false);
    const target = (userName: string) => ({ userName, givenName: null, familyName: null, active: true, role: 'member' as const, org: 'acme', team: null });
    s.recordUserSuccess(run, { id: 'create:u1', kind: 'create', reason: 't', idpId: 'u1', userName: 'Ada@Example.com', target: target('Ada@Example.com') }, 'd1', 'created');
    s.recordUserSuccess(run, { id: 'create:u2', kind: 'create', reason: 't', idpId: 'u2', userName: 'bob@example.com', target: target('bob@example.com') }, 'd2', 'created');
    expect(s.linksByUserName(['ada@example.COM', 'nobody@example.com']).map((l) => l.idpId)).toEqual(['u1']);
    expect(s.linksByUserName([]).length).toBe(0);
    s.close();
  });
});
