import { afterEach, describe, expect, it } from 'vitest';
import { Scenario } from '../support/harness.ts';

/** A 5,000-member org:team group syncs, its changes sent in chunks (DOCKER_TEAM_CHUNK_SIZE, default 100). */
describe('a large team', () => {
  let s: Scenario;
  afterEach(async () => {
    await s?.stop();
  });

  // 5,000 creates, journaled with full fsyncs (shared by the writes in flight): ~14 s on a loaded
  // two-core machine. The bound is for a hang, not a speed target (that is npm run bench).
  it('5,000 members are added in requests of 100, and 2,500 leave in requests of 250 when configured', { timeout: 600_000 }, async () => {
    s = await Scenario.start({ source: 'okta' });
    const platform = s.directory.addGroup('acme:platform');
    for (let i = 0; i < 5000; i++) {
      // No dockerTeam: each create puts its user in the default team, and only the group puts them in platform.
      const u = s.directory.addUser({ email: `dev${i}@example.com`, givenName: 'Dev', familyName: String(i) });
      platform.members.add(u.id);
    }
    const first = await s.sync();
    expect(first.outcome.result.status).toBe('succeeded');
    expect(s.docker.teamMembers('acme:platform')).toHaveLength(5000);
    const patches = s.docker.http.requests.filter((r) => r.method === 'PATCH' && r.route === 'patchGroup');
    const sizes = patches.map((r) => ((r.body as { Operations: Array<{ value: unknown[] }> }).Operations[0]?.value ?? []).length);
    expect(patches).toHaveLength(50);
    expect(sizes.every((n) => n === 100)).toBe(true);
    // The creates placed everyone in the default team themselves: no PATCH went to it.
    expect(s.docker.teamMembers('acme:everyone')).toHaveLength(5000);
    expect(new Set(patches.map((r) => r.path.split('/').pop()))).toEqual(new Set([s.docker.group('acme:platform')?.id]));
    expect((await s.sync()).writes).toBe(0);

    for (let i = 0; i < 2500; i++) platform.members.delete(s.directory.user(`dev${i}@example.com`).id);
    const before = s.docker.http.requests.length;
    const second = await s.sync({ env: { DOCKER_TEAM_CHUNK_SIZE: '250' } });
    expect(second.outcome.result.status).toBe('succeeded');
    const removes = s.docker.http.requests.slice(before).filter((r) => r.method === 'PATCH' && JSON.stringify(r.body).includes('"remove"'));
    expect(removes).toHaveLength(10);
    expect(s.docker.teamMembers('acme:platform')).toHaveLength(2500);
    expect((await s.sync()).writes).toBe(0);
  });
});
