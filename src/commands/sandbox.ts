import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startWorld, type WorldSource } from '../sandbox/world.ts';

/**
 * `sandbox`: starts the emulators with seeded people and prints how to point docker-idp-sync at
 * them, so an admin can try a configuration before touching a real tenant. Runs until Ctrl-C.
 */
export interface SandboxOptions {
  source?: WorldSource;
  idpPort?: number;
  dockerPort?: number;
  users?: number;
  seed?: number;
  edgeCases?: boolean;
}

export async function sandboxCommand(opts: SandboxOptions): Promise<number> {
  const world = await startWorld({
    source: opts.source ?? 'okta',
    seed: { users: opts.users ?? 50, seed: opts.seed ?? 1, edgeCases: opts.edgeCases !== false },
    ports: { idp: opts.idpPort ?? 0, docker: opts.dockerPort ?? 0 },
  });
  const env: Record<string, string> = { ...world.env };
  if (world.caPem) {
    // Graph is TLS-only: the CLI in another terminal must trust the emulator's throwaway CA.
    mkdirSync('data', { recursive: true, mode: 0o700 });
    env.NODE_EXTRA_CA_CERTS = resolve('data/sandbox-ca.pem');
    writeFileSync(env.NODE_EXTRA_CA_CERTS, world.caPem);
  }
  const idpLine =
    world.source === 'entra'
      ? `  Microsoft Graph emulator  ${env.GRAPH_BASE_URL}   tenant ${env.ENTRA_TENANT_ID}, Docker app ${env.ENTRA_APP_ID}`
      : `  Okta emulator         ${env.OKTA_ORG_URL}   app id ${env.OKTA_APP_ID}`;
  process.stdout.write(
    [
      'docker-idp-sync sandbox is running (Ctrl-C to stop)',
      '',
      idpLine,
      `  Docker SCIM emulator  ${env.DOCKER_SCIM_BASE_URL}`,
      `  Seeded users          ${world.directory.users.size} (${world.directory.assignedUsers().length} assigned), groups ${world.directory.groups.size}`,
      '',
      'Point docker-idp-sync at it (these credentials only open the emulators):',
      '',
      ...Object.entries(env).map(([k, v]) => `  export ${k}=${shellQuote(v)}`),
      '  export STATE_DB=./data/sandbox-state.db',
      '',
      'Then, in another terminal:  node src/cli.ts sync --dry-run',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await world.stop();
  return 0;
}

function shellQuote(v: string): string {
  return /^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}
