import type { Directory } from '../../src/sandbox/directory.ts';

/**
 * A small, readable company for end-to-end scenarios, covering each line of Docker's placement
 * table and both ways to join a team (attribute and org:team group).
 */
export function seedPeople(dir: Directory): void {
  dir.addUser({ email: 'ada@example.com', givenName: 'Ada', familyName: 'Lovelace', attributes: { dockerRole: 'owner' } });
  dir.addUser({ email: 'alan@example.com', givenName: 'Alan', familyName: 'Turing', attributes: { dockerOrg: 'acmelabs' } });
  dir.addUser({ email: 'grace@example.com', givenName: 'Grace', familyName: 'Hopper', attributes: { dockerTeam: ['backend'], dockerRole: 'editor' } });
  dir.addUser({ email: 'edsger@example.com', givenName: 'Edsger', familyName: 'Dijkstra', attributes: { dockerOrg: 'acmelabs', dockerTeam: 'research' } });
  dir.addUser({ email: 'barbara@example.com', givenName: 'Barbara', familyName: 'Liskov' });
  const ken = dir.addUser({ email: 'ken@example.com', givenName: 'Ken', familyName: 'Thompson', assigned: false });
  const platform = dir.addGroup('acme:platform');
  platform.members.add(dir.user('grace@example.com').id);
  platform.members.add(dir.user('barbara@example.com').id);
  const staff = dir.addGroup('Docker Users');
  staff.members.add(ken.id);
}

/** What Docker should hold for seedPeople after one sync. */
export const EXPECTED = {
  users: {
    'ada@example.com': { givenName: 'Ada', familyName: 'Lovelace', active: true, role: 'owner', org: 'acme', team: 'everyone' },
    'alan@example.com': { givenName: 'Alan', familyName: 'Turing', active: true, role: 'member', org: 'acmelabs', team: null },
    'grace@example.com': { givenName: 'Grace', familyName: 'Hopper', active: true, role: 'editor', org: 'acme', team: 'backend' },
    'edsger@example.com': { givenName: 'Edsger', familyName: 'Dijkstra', active: true, role: 'member', org: 'acmelabs', team: 'research' },
    'barbara@example.com': { givenName: 'Barbara', familyName: 'Liskov', active: true, role: 'member', org: 'acme', team: 'everyone' },
    'ken@example.com': { givenName: 'Ken', familyName: 'Thompson', active: true, role: 'member', org: 'acme', team: 'everyone' },
  },
  teams: {
    'acme:everyone': ['ada@example.com', 'barbara@example.com', 'ken@example.com'],
    'acme:backend': ['grace@example.com'],
    'acme:platform': ['barbara@example.com', 'grace@example.com'],
    'acmelabs:research': ['edsger@example.com'],
  },
} as const;
