import { Directory } from './directory.ts';
import { DockerScimEmulator, type DockerScimEmulatorOptions } from './docker/emulator.ts';
import { OktaEmulator, type OktaEmulatorOptions } from './okta/emulator.ts';
import { seedDirectory, type SeedOptions } from './seed.ts';

/**
 * A whole sandbox: one IdP directory served by an IdP emulator, and a Docker SCIM emulator, on
 * loopback. The demo, the `sandbox` command and the end-to-end tests all start one, and get back the
 * environment variables that point docker-idp-sync at it.
 */

export type WorldSource = 'okta';

export interface WorldOptions {
  source?: WorldSource;
  /** Seed the directory (omit for an empty one the test fills). */
  seed?: SeedOptions;
  docker?: DockerScimEmulatorOptions;
  okta?: Omit<OktaEmulatorOptions, 'directory'>;
  ports?: { idp?: number; docker?: number };
}

export interface World {
  readonly source: WorldSource;
  readonly directory: Directory;
  readonly okta: OktaEmulator;
  readonly docker: DockerScimEmulator;
  /** Configuration for docker-idp-sync, as environment variables (without STATE_DB). */
  readonly env: Record<string, string>;
  /** Every secret in `env`, for leak checks. */
  readonly secrets: readonly string[];
  stop(): Promise<void>;
}

export const WORLD_DEFAULT_ORG = 'acme';
export const WORLD_DEFAULT_TEAM = 'everyone';

export async function startWorld(opts: WorldOptions = {}): Promise<World> {
  const directory = new Directory();
  if (opts.seed) seedDirectory(directory, opts.seed);
  const okta = new OktaEmulator({ directory, ...(opts.okta ?? {}) });
  const docker = new DockerScimEmulator({
    defaultOrg: WORLD_DEFAULT_ORG,
    defaultTeam: WORLD_DEFAULT_TEAM,
    orgs: [{ name: 'acme' }, { name: 'acmelabs' }],
    ...(opts.docker ?? {}),
  });
  const oktaUrl = await okta.start(opts.ports?.idp ?? 0);
  const dockerUrl = await docker.start(opts.ports?.docker ?? 0);
  const env: Record<string, string> = {
    SOURCE: 'okta',
    OKTA_ORG_URL: oktaUrl,
    OKTA_APP_ID: okta.appId,
    OKTA_API_TOKEN: okta.apiToken,
    DOCKER_SCIM_BASE_URL: dockerUrl,
    DOCKER_SCIM_TOKEN: docker.token,
    DOCKER_DEFAULT_ORG: WORLD_DEFAULT_ORG,
    DOCKER_DEFAULT_TEAM: WORLD_DEFAULT_TEAM,
  };
  return {
    source: 'okta',
    directory,
    okta,
    docker,
    env,
    secrets: [okta.apiToken, docker.token],
    async stop() {
      await Promise.all([okta.stop(), docker.stop()]);
    },
  };
}
