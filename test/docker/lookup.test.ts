import { describe, expect, it } from 'vitest';
import { setup } from './fixture.ts';

/** An incremental run's Docker read: a few filtered listings and GETs instead of every page. */
describe('lookup (incremental runs)', () => {
  it('finds accounts by userName in or-ed filters of 20, case-insensitively, and by id only what those missed', async () => {
    const { emu, client } = await setup();
    const seeded = Array.from({ length: 45 }, (_, i) => emu.seedUser({ userName: `user${i}@example.com` }));
    const renamedByHand = emu.seedUser({ userName: 'renamed@example.com' });
    const names = seeded.slice(0, 25).map((u, i) => (i === 0 ? u.userName.toUpperCase() : u.userName));
    const snap = await client.lookup([seeded[0]!.id, renamedByHand.id], [...names, 'nobody@example.com']);
    expect(snap.users.map((u) => u.userName).sort()).toEqual([...seeded.slice(0, 25).map((u) => u.userName), 'renamed@example.com'].sort());
    const byName = emu.http.requests.filter((r) => r.route === 'listUsers');
    expect(byName).toHaveLength(2);
    expect(new URLSearchParams(byName[0]!.query).get('filter')).toMatch(/^userName eq "USER0@EXAMPLE.COM" or userName eq "user1@example.com" or /);
    // The linked id the names found costs nothing more; the one renamed by hand is fetched by id.
    expect(emu.http.requests.filter((r) => r.route === 'getUser').map((r) => r.path)).toEqual([expect.stringContaining(renamedByHand.id)]);
  });

  it('an id Docker no longer has is simply absent, not an error', async () => {
    const { client } = await setup();
    const snap = await client.lookup(['4a0a0a0a-0000-4000-8000-000000000000'], []);
    expect(snap.users).toEqual([]);
  });

  it('every team comes with its members, for the team plan', async () => {
    const { emu, client } = await setup();
    const u = emu.seedUser({ userName: 'a@example.com', team: 'everyone' });
    const snap = await client.lookup([], [u.userName]);
    expect(snap.groups.find((g) => g.displayName.endsWith(':everyone'))?.members).toContain(u.id);
  });

  it('an answer holding an account that was not asked for is a bad response, not a match', async () => {
    const { emu, client } = await setup();
    emu.seedUser({ userName: 'a@example.com' });
    const other = emu.seedUser({ userName: 'b@example.com' });
    emu.http.faults.add({ route: 'listUsers', action: { type: 'status', status: 200, body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 1, startIndex: 1, itemsPerPage: 1, resources: [{ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], id: other.id, userName: other.userName, active: true }] } } });
    await expect(client.lookup([], ['a@example.com'])).rejects.toThrow(/not asked for/);
  });
});
