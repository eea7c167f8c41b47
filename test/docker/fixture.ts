import { afterEach } from 'vitest';
import { DockerScimClient, type DockerClientOptions } from '../../src/docker/client.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import type { UserAttributes } from '../../src/model/docker.ts';
import { DockerScimEmulator, type DockerScimEmulatorOptions } from '../../src/sandbox/docker/emulator.ts';

/** A Docker SCIM emulator and a client pointed at it, stopped after each test; fast backoff. */
const running: DockerScimEmulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.stop()));
});

export async function setup(emuOpts: DockerScimEmulatorOptions = {}, clientOpts: Partial<DockerClientOptions> = {}) {
  const emu = new DockerScimEmulator(emuOpts);
  running.push(emu);
  await emu.start();
  const client = new DockerScimClient({ baseUrl: emu.baseUrl, token: emu.token, logger: silentLogger(), backoff: { baseMs: 5, capMs: 20 }, ...clientOpts });
  return { emu, client };
}

export function attrs(userName: string, over: Partial<UserAttributes> = {}): UserAttributes {
  return { userName, givenName: 'Ada', familyName: 'Lovelace', active: true, role: 'member', org: 'acme', team: 'everyone', ...over };
}

/** A request sent straight to the emulator (not through the client), to test what it answers. */
export async function raw(emu: DockerScimEmulator, method: string, path: string, body?: unknown) {
  const res = await fetch(`${emu.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${emu.token}`, 'content-type': 'application/scim+json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as Record<string, any> | undefined };
}
