import { Directory } from './directory.ts';
import { DockerScimEmulator, type DockerScimEmulatorOptions } from './docker/emulator.ts';
import { GraphEmulator, type GraphEmulatorOptions } from './entra/emulator.ts';
import type { Emulator } from './http/emulator.ts';
import { OktaEmulator, type OktaEmulatorOptions } from './okta/emulator.ts';
import { seedDirectory, type SeedOptions } from './seed.ts';

/**
 * A whole sandbox: one IdP directory served by an IdP emulator (Okta or Microsoft Graph), and a
 * Docker SCIM emulator, on loopback. The demo, the `sandbox` command and the end-to-end tests all
 * start one, and get back the environment variables that point docker-idp-sync at it. The same
 * directory can sit behind either IdP, which is how one scenario suite runs for both sources.
 */

export type WorldSource = 'okta' | 'entra';
export const WORLD_SOURCES: readonly WorldSource[] = ['okta', 'entra'];

export interface WorldOptions {
  source?: WorldSource;
  /** Seed the directory (omit for an empty one the test fills). */
  seed?: SeedOptions;
  docker?: DockerScimEmulatorOptions;
  okta?: Omit<OktaEmulatorOptions, 'directory'>;
  entra?: Omit<GraphEmulatorOptions, 'directory'>;
  ports?: { idp?: number; docker?: number };
}

export interface World {
  readonly source: WorldSource;
  readonly directory: Directory;
  /** The IdP emulator's HTTP side: request log, counts, fault switches. */
  readonly idp: Emulator;
  readonly okta: OktaEmulator | null;
  readonly graph: GraphEmulator | null;
  readonly docker: DockerScimEmulator;
  /** Configuration for docker-idp-sync, as environment variables (without STATE_DB). */
  readonly env: Record<string, string>;
  /** Every secret in `env`, for leak checks. */
  readonly secrets: readonly string[];
  /**
   * The CA a client must trust to reach the IdP emulator (Graph is TLS-only), or null. In-process:
   * trustCertificates([caPem]); a child process: NODE_EXTRA_CA_CERTS naming a file that holds it.
   */
  readonly caPem: string | null;
  stop(): Promise<void>;
}

export const WORLD_DEFAULT_ORG = 'acme';
export const WORLD_DEFAULT_TEAM = 'everyone';

export async function startWorld(opts: WorldOptions = {}): Promise<World> {
  const source = opts.source ?? 'okta';
  const directory = new Directory();
  if (opts.seed) seedDirectory(directory, opts.seed);
  const docker = new DockerScimEmulator({
    defaultOrg: WORLD_DEFAULT_ORG,
    defaultTeam: WORLD_DEFAULT_TEAM,
    orgs: [{ name: 'acme' }, { name: 'acmelabs' }],
    ...(opts.docker ?? {}),
  });
  const dockerEnv = async () => ({
    DOCKER_SCIM_BASE_URL: await docker.start(opts.ports?.docker ?? 0),
    DOCKER_SCIM_TOKEN: docker.token,
    DOCKER_DEFAULT_ORG: WORLD_DEFAULT_ORG,
    DOCKER_DEFAULT_TEAM: WORLD_DEFAULT_TEAM,
  });

  if (source === 'entra') {
    // dockerRole from the app role (Docker's Entra recipe); org and team from directory
    // extensions, which hold a list as Okta's attributes do, so the same scenarios run on both.
    const graph = new GraphEmulator({ directory, attributes: { dockerRole: 'appRole', dockerOrg: 'extension', dockerTeam: 'extension' }, ...(opts.entra ?? {}) });
    const origin = await graph.start(opts.ports?.idp ?? 0);
    const env = {
      SOURCE: 'entra',
      ENTRA_TENANT_ID: graph.tenantId,
      ENTRA_CLIENT_ID: graph.clientId,
      ENTRA_CLIENT_SECRET: graph.clientSecret,
      ENTRA_APP_ID: graph.appId,
      ENTRA_AUTHORITY_HOST: origin,
      GRAPH_BASE_URL: origin,
      ENTRA_ROLE_SOURCE: 'appRole',
      ENTRA_ORG_SOURCE: 'extension:dockerOrg',
      ENTRA_TEAM_SOURCE: 'extension:dockerTeam',
      ...(await dockerEnv()),
    };
    return {
      source,
      directory,
      idp: graph.http,
      okta: null,
      graph,
      docker,
      env,
      secrets: [graph.clientSecret, docker.token],
      caPem: graph.certificate.caPem,
      async stop() {
        await Promise.all([graph.stop(), docker.stop()]);
      },
    };
  }

  const okta = new OktaEmulator({ directory, ...(opts.okta ?? {}) });
  const oktaUrl = await okta.start(opts.ports?.idp ?? 0);
  const env = { SOURCE: 'okta', OKTA_ORG_URL: oktaUrl, OKTA_APP_ID: okta.appId, OKTA_API_TOKEN: okta.apiToken, ...(await dockerEnv()) };
  return {
    source,
    directory,
    idp: okta.http,
    okta,
    graph: null,
    docker,
    env,
    secrets: [okta.apiToken, docker.token],
    caPem: null,
    async stop() {
      await Promise.all([okta.stop(), docker.stop()]);
    },
  };
}
