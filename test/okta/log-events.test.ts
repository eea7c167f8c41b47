import { describe, expect, it } from 'vitest';
import { classify, LOG_FILTER } from '../../src/sources/okta/log-events.ts';

const event = (eventType: string, target: Array<{ id: string; type: string; displayName?: string }>) => ({ uuid: 'e1', eventType, published: '2026-12-06T12:00:00.000Z', target });

describe('what a System Log event asks of the feed', () => {
  it('bringing back a deprovisioned user (activate) is followed like reactivate, for managed users', () => {
    for (const type of ['user.lifecycle.activate', 'user.lifecycle.reactivate']) {
      expect(classify(event(type, [{ id: '00u1', type: 'User' }]), '0oa1')).toEqual({ kind: 'managed-user', userId: '00u1' });
      expect(LOG_FILTER).toContain(`eventType eq "${type}"`);
    }
  });

  it('a deleted group is a full read: it may have been assigned, and it is gone from the app\'s listing', () => {
    const verdict = classify(event('group.lifecycle.delete', [{ id: '00g1', type: 'UserGroup', displayName: 'acme:platform' }]), '0oa1');
    expect(verdict).toEqual({ kind: 'full', reason: expect.stringContaining('"acme:platform" was deleted') });
    expect(LOG_FILTER).toContain('eventType eq "group.lifecycle.delete"');
  });

  it('a group created or renamed names the group, for the feed to judge against the team groups and the rule', () => {
    expect(classify(event('group.lifecycle.create', [{ id: '00g1', type: 'UserGroup', displayName: 'acme:new' }]), '0oa1')).toEqual({ kind: 'group-created', groupId: '00g1', name: 'acme:new' });
    expect(classify(event('group.lifecycle.create', []), '0oa1')).toEqual({ kind: 'group-created', groupId: null, name: null });
    expect(classify(event('group.profile.update', [{ id: '00g1', type: 'UserGroup', displayName: 'acme:dev' }]), '0oa1')).toEqual({ kind: 'group', groupId: '00g1', name: 'acme:dev' });
    expect(LOG_FILTER).toContain('eventType eq "group.lifecycle.create"');
  });
});
