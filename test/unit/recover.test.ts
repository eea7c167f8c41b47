import { describe, expect, it } from 'vitest';
import type { UserAttributes } from '../../src/model/docker.ts';
import type { InterruptedWrite } from '../../src/model/recovery.ts';
import { recoverInterrupted } from '../../src/reconcile/recover.ts';
import { dockerUser } from '../support/builders.ts';

const target: UserAttributes = { userName: 'jane@example.com', givenName: 'Jane', familyName: 'Doe', active: true, role: 'editor', org: 'acme', team: 'web' };
const write = (over: Partial<InterruptedWrite> = {}): InterruptedWrite => ({ runId: 'r1', opId: 'create:u1', kind: 'create', idpId: 'u1', userName: 'jane@example.com', target, ...over });
const landed = dockerUser({ id: 'd1', userName: 'Jane@example.com', givenName: 'Jane', familyName: 'Doe', role: 'editor', org: 'acme', team: 'web' });

describe('recovering interrupted writes', () => {
  it('links a create that reached Docker, by userName and the values it sent', () => {
    const r = recoverInterrupted([write()], { users: [landed], groups: [] }, new Set(), new Set());
    expect(r.links).toMatchObject([{ idpId: 'u1', dockerId: 'd1', origin: 'created', opId: 'create:u1', runId: 'r1' }]);
    expect(r.abandoned).toEqual([]);
  });

  it('an adopt that reached Docker is recovered as an adoption', () => {
    const r = recoverInterrupted([write({ kind: 'adopt', opId: 'adopt:u1' })], { users: [landed], groups: [] }, new Set(), new Set());
    expect(r.links[0]?.origin).toBe('adopted');
  });

  it('does not take over an account someone else made meanwhile with other values', () => {
    const handMade = { ...landed, role: 'owner', familyName: 'Smith' };
    const r = recoverInterrupted([write()], { users: [handMade], groups: [] }, new Set(), new Set());
    expect(r.links).toEqual([]);
    expect(r.abandoned).toHaveLength(1);
  });

  it('tolerates a Docker that does not echo its extension', () => {
    const noEcho = { id: 'd1', userName: 'jane@example.com', givenName: 'Jane', familyName: 'Doe', active: true };
    expect(recoverInterrupted([write()], { users: [noEcho], groups: [] }, new Set(), new Set()).links).toHaveLength(1);
  });

  it('abandons what did not land, what is linked already, and writes that are not creates', () => {
    const r = recoverInterrupted(
      [write({ userName: 'nobody@example.com' }), write({ idpId: 'u2', opId: 'create:u2' }), write({ kind: 'update', opId: 'update:u1' }), write({ opId: 'create:u3', idpId: 'u3' })],
      { users: [landed], groups: [] },
      new Set(['d1']),
      new Set(['u2']),
    );
    expect(r.links).toEqual([]);
    expect(r.abandoned.map((w) => w.opId)).toEqual(['create:u1', 'create:u2', 'update:u1', 'create:u3']);
  });
});
