import { describe, expect, it } from 'vitest';
import type { DockerCapabilities } from '../../src/model/docker.ts';
import { decideTeamSync } from '../../src/reconcile/capabilities.ts';

const caps = (over: Partial<DockerCapabilities> = {}): DockerCapabilities => ({ patch: false, groups: 'present', resourceTypes: ['User', 'Group'], schemas: [], ...over });

describe('decideTeamSync', () => {
  it.each([
    // [what, capabilities, mode, syncs]
    ['Docker as Okta and Entra meet it: /Groups answers and is listed, whatever the example says of PATCH', caps(), 'auto', true],
    ['no /Groups at all', caps({ groups: 'absent' }), 'auto', false],
    ['no /Groups, even when asked for', caps({ groups: 'absent' }), 'on', false],
    ['PATCH unsupported and no Group listed: the documented public surface', caps({ resourceTypes: ['User'] }), 'auto', false],
    ['the same, with DOCKER_TEAM_SYNC=on: the admin knows better', caps({ resourceTypes: ['User'] }), 'on', true],
    ['PATCH supported, Group not listed: /Groups answered, so it is used', caps({ patch: true, resourceTypes: ['User'] }), 'auto', true],
    ['PATCH unknown, Group not listed', caps({ patch: null, resourceTypes: ['User'] }), 'auto', true],
    ['ResourceTypes did not answer: the /Groups answer decides', caps({ resourceTypes: [] }), 'auto', true],
    ['a group type in other case', caps({ resourceTypes: ['user', 'group'] }), 'auto', true],
    ['DOCKER_TEAM_SYNC=off', caps(), 'off', false],
  ] as const)('%s', (_what, c, mode, syncs) => {
    expect(decideTeamSync(c, mode).sync).toBe(syncs);
  });

  it('says why teams are skipped, in words an admin can act on', () => {
    expect(decideTeamSync(caps({ groups: 'absent' }), 'auto')).toEqual({ sync: false, reason: expect.stringMatching(/no \/Groups endpoint .*404/) });
    expect(decideTeamSync(caps({ resourceTypes: ['User'] }), 'auto')).toEqual({ sync: false, reason: expect.stringMatching(/PATCH is not supported .* no Group/) });
  });
});
