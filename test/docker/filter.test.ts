import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerScimClient } from '../../src/docker/client.ts';
import { escapeFilterValue } from '../../src/docker/filter.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { DockerScimEmulator } from '../../src/sandbox/docker/emulator.ts';
import { FilterError, matches, parseFilter } from '../../src/sandbox/docker/filter.ts';

const EXT = 'urn:ietf:params:scim:schemas:extension:docker:2.0:User';

describe('escapeFilterValue', () => {
  it.each([
    ['plain@example.com', 'plain@example.com'],
    ['o"hara@example.com', 'o\\"hara@example.com'],
    ['back\\slash@example.com', 'back\\\\slash@example.com'],
    ['\\"', '\\\\\\"'],
    ['tab\there', 'tab\\there'],
    ['zoë.ångström@example.com', 'zoë.ångström@example.com'],
    ['', ''],
  ])('%j → %j', (input, expected) => {
    expect(escapeFilterValue(input)).toBe(expected);
  });

  it('round-trips any string through the emulator parser', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (v) => {
        const node = parseFilter(`userName eq "${escapeFilterValue(v)}"`);
        return node.kind === 'cmp' && node.value === v;
      }),
      { numRuns: 500 },
    );
  });
});

describe('emulator filter parser', () => {
  const ada: Record<string, unknown> = {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', EXT],
    id: 'ID-1',
    userName: 'Ada.Lovelace@Example.com',
    name: { givenName: 'Ada', familyName: 'Lovelace' },
    active: true,
    emails: [{ value: 'ada@work.example', primary: true }, { value: 'ada@home.example' }],
    [EXT]: { dockerRole: 'editor', dockerOrg: 'acme' },
  };

  it.each([
    ['userName eq "ada.lovelace@example.com"', true],
    ['USERNAME EQ "Ada.Lovelace@Example.com"', true],
    ['userName ne "x@example.com"', true],
    ['userName ne "ADA.lovelace@example.com"', false],
    ['userName co "lovelace"', true],
    ['userName sw "ada."', true],
    ['userName sw "lovelace"', false],
    ['name.givenName eq "ada"', true],
    ['NAME.FAMILYNAME eq "LOVELACE"', true],
    ['emails.value eq "ada@home.example"', true],
    ['active eq true', true],
    ['active eq false', false],
    ['userName eq "x" or name.familyName eq "Lovelace"', true],
    ['userName sw "ada" and active eq false', false],
    ['not (active eq false)', true],
    ['NOT (userName co "ada")', false],
    ['not (userName co "ada") or (active eq true and name.givenName eq "Ada")', true],
    ['(userName eq "a" or userName eq "b") and active eq true', false],
    // and binds tighter than or: (F and T) or T
    ['userName eq "nope" and active eq true or name.givenName eq "Ada"', true],
    ['userName eq "nope" and (active eq true or name.givenName eq "Ada")', false],
    [`${EXT}:dockerRole eq "editor"`, true],
    [`${EXT}:dockerTeam eq null`, true],
    ['urn:ietf:params:scim:schemas:core:2.0:User:userName sw "ADA"', true],
    ['id eq "id-1"', false],
    ['id eq "ID-1"', true],
    ['title eq "x"', false],
  ])('%s → %s', (filter, expected) => {
    expect(matches(parseFilter(filter), ada)).toBe(expected);
  });

  it.each([
    ['userName eq "o\\"hara@example.com"', 'o"hara@example.com'],
    ['userName eq "back\\\\slash@example.com"', 'back\\slash@example.com'],
    ['userName eq "a\\\\\\"b"', 'a\\"b'],
    ['userName eq "caf\\u00e9"', 'café'],
  ])('string escapes: %s', (filter, value) => {
    expect(parseFilter(filter)).toEqual({ kind: 'cmp', attr: 'userName', op: 'eq', value });
  });

  it.each([
    'userName gt "a"',
    'userName ge "a"',
    'userName lt "a"',
    'userName le "a"',
    'userName pr',
    'userName ew "example.com"',
    'userName like "a"',
    'userName eq',
    'userName eq "unterminated',
    '(userName eq "a"',
    'userName eq "a")',
    'userName eq unquoted',
    'emails[type eq "work"].value eq "x"',
    '',
    '   ',
    'userName eq "a" and',
    'userName eq "bad \\x escape"',
    'active co true',
    '"userName" eq "a"',
  ])('rejects %j', (filter) => {
    expect(() => parseFilter(filter)).toThrow(FilterError);
  });
});

describe('filters over HTTP', () => {
  const emu = new DockerScimEmulator();
  let client: DockerScimClient;
  const tricky = ['o"hara@example.com', 'back\\slash@example.com', 'both\\"mixed@example.com', 'plus+tag@example.com', 'space and&amp@example.com'];

  beforeAll(async () => {
    await emu.start();
    client = new DockerScimClient({ baseUrl: emu.baseUrl, token: emu.token, logger: silentLogger() });
    for (const userName of tricky) emu.seedUser({ userName });
    // Near misses: one escape level off, or one character off.
    emu.seedUser({ userName: 'o\\"hara@example.com' });
    emu.seedUser({ userName: 'back\\\\slash@example.com' });
    emu.seedUser({ userName: 'ohara@example.com' });
  });
  afterAll(() => emu.stop());

  it.each(tricky)('findUserByUserName finds %j and only it', async (userName) => {
    const found = await client.findUserByUserName(userName);
    expect(found?.userName).toBe(userName);
    expect(found?.id).toBe(emu.user(userName)?.id);
  });

  it('compares userName case-insensitively, as Docker does', async () => {
    const found = await client.findUserByUserName('O"HARA@Example.COM');
    expect(found?.userName).toBe('o"hara@example.com');
  });

  it('returns null for a near miss', async () => {
    expect(await client.findUserByUserName('o"hara@example.co')).toBeNull();
    expect(await client.findUserByUserName('back\\\\\\slash@example.com')).toBeNull();
    expect(await client.findUserByUserName('"hara@example.com')).toBeNull();
  });

  it('answers 400 invalidFilter to an operator Docker does not list', async () => {
    for (const filter of ['userName gt "a"', 'userName pr', 'userName ew "x"', 'userName eq "a" and']) {
      const res = await fetch(`${emu.baseUrl}/Users?filter=${encodeURIComponent(filter)}`, { headers: { authorization: `Bearer ${emu.token}` } });
      expect(res.status).toBe(400);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', scimType: 'invalidFilter' });
      expect(typeof body.detail).toBe('string');
    }
  });

  it('filters with and/or/not over HTTP', async () => {
    const filter = '(userName sw "o" or userName sw "back") and not (userName co "\\\\")';
    const res = await fetch(`${emu.baseUrl}/Users?count=50&filter=${encodeURIComponent(filter)}`, { headers: { authorization: `Bearer ${emu.token}` } });
    const body = (await res.json()) as { resources: Array<{ userName: string }>; totalResults: number };
    expect(body.resources.map((u) => u.userName).sort()).toEqual(['o"hara@example.com', 'ohara@example.com']);
    expect(body.totalResults).toBe(2);
  });
});
