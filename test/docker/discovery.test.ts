import { describe, expect, it } from 'vitest';
import { raw, setup } from './fixture.ts';

/** Capability discovery: what a Docker SCIM connection says it offers, and whether /Groups answers. */
describe('discover', () => {
  it('reads the connection the way Docker publishes it: patch false, one authentication object, User and Group', async () => {
    const { emu, client } = await setup();
    const caps = await client.discover();
    expect(caps).toEqual({
      patch: false,
      groups: 'present',
      resourceTypes: ['User', 'Group'],
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:docker:2.0:User'],
    });
    expect(emu.http.requests.map((r) => r.route).sort()).toEqual(['listGroups', 'resourceTypes', 'schemas', 'serviceProviderConfig']);
    // One group is enough to know that /Groups answers: never the whole listing.
    expect(new URLSearchParams(emu.http.requests.find((r) => r.route === 'listGroups')!.query).get('count')).toBe('1');
  });

  it('a connection without /Groups (the surface Docker documents) is told apart, not a failure', async () => {
    const { emu, client } = await setup({ groups: false });
    expect((await raw(emu, 'GET', '/Groups')).status).toBe(404);
    expect((await raw(emu, 'GET', '/Users')).status).toBe(200);
    const caps = await client.discover();
    expect(caps.groups).toBe('absent');
    expect(caps.resourceTypes).toEqual(['User']);
  });

  it('says what the ServiceProviderConfig says about PATCH, and null when it says nothing', async () => {
    expect((await (await setup({ patchSupported: true })).client.discover()).patch).toBe(true);
    const { emu, client } = await setup();
    emu.http.faults.add({ route: 'serviceProviderConfig', action: { type: 'status', status: 200, body: { schemas: [] } } });
    expect((await client.discover()).patch).toBeNull();
  });

  it('discovery endpoints that answer 404 say nothing; the run goes on', async () => {
    const { emu, client } = await setup();
    for (const route of ['serviceProviderConfig', 'resourceTypes', 'schemas']) emu.http.faults.add({ route, action: { type: 'status', status: 404, body: { detail: 'not here' } } });
    expect(await client.discover()).toEqual({ patch: null, groups: 'present', resourceTypes: [], schemas: [] });
  });

  it('a rejected token is an error, never "no groups"', async () => {
    const { emu, client } = await setup();
    emu.http.faults.add({ route: 'listGroups', times: Infinity, action: { type: 'status', status: 401, body: { detail: 'bad token' } } });
    await expect(client.discover()).rejects.toMatchObject({ code: 'DOCKER_UNAUTHORIZED' });
  });

  it('a /Groups answer that is not a list is a bad response, not a connection with groups', async () => {
    const { emu, client } = await setup();
    emu.http.faults.add({ route: 'listGroups', action: { type: 'status', status: 200, body: { nothing: true } } });
    await expect(client.discover()).rejects.toMatchObject({ code: 'DOCKER_BAD_RESPONSE' });
  });
});

describe('the emulator without PATCH on /Groups', () => {
  it('answers the status it was given and changes nothing', async () => {
    const { emu } = await setup({ groupPatch: 405 });
    const res = await raw(emu, 'PATCH', '/Groups/any', { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [] });
    expect(res.status).toBe(405);
  });
});
