import { describe, expect, it } from 'vitest';
import { Directory } from '../../src/sandbox/directory.ts';

describe('the emulators\' directory records every change, for the change feeds', () => {
  it('each method that changes something records what, in order, with the version it produced', () => {
    const d = new Directory();
    let t = 1000;
    d.now = () => t++;
    const u = d.addUser({ email: 'a@example.com' });
    const g = d.addGroup('acme:platform');
    d.updateUser(u.id, { familyName: 'King', assigned: false });
    d.setAttribute(u.id, 'dockerRole', 'owner');
    d.addMember(g.id, u.id);
    d.removeMember(g.id, u.id);
    d.setGroupAssigned(g.id, false);
    d.removeUser(u.id);
    expect(d.changes.map((c) => [c.seq, c.kind, 'fields' in c ? c.fields : undefined])).toEqual([
      [1, 'user-added', undefined],
      [2, 'group-added', undefined],
      [3, 'user-changed', ['assigned', 'familyName']],
      [4, 'user-changed', ['attributes']],
      [5, 'member-added', undefined],
      [6, 'member-removed', undefined],
      [7, 'group-assignment', undefined],
      [8, 'user-removed', undefined],
    ]);
    expect(d.changes[0]?.at).toBe(1000);
    expect(d.version).toBe(8);
  });

  it('changesSince goes by seq, also after a version raised without a record (a bulk load)', () => {
    const d = new Directory();
    d.addUser({ email: 'a@example.com' });
    d.version += 5;
    const token = d.version;
    d.addUser({ email: 'b@example.com' });
    expect(d.changesSince(token).map((c) => c.seq)).toEqual([7]);
    expect(d.changesSince(0).map((c) => c.seq)).toEqual([1, 7]);
    expect(d.changesSince(7)).toEqual([]);
  });
});
