import { startWorld } from '../sandbox/world.ts';

/**
 * `sandbox`: starts the emulators with seeded people and prints how to point docker-idp-sync at
 * them, so an admin can try a configuration before touching a real tenant. Runs until Ctrl-C.
 */
export interface SandboxOptions {
  oktaPort?: number;
  dockerPort?: number;
  users?: number;
  seed?: number;
  edgeCases?: boolean;
}

export async function sandboxCommand(opts: SandboxOptions): Promise<number> {
  const world = await startWorld({
    seed: { users: opts.users ?? 50, seed: opts.seed ?? 1, edgeCases: opts.edgeCases !== false },
    ports: { idp: opts.oktaPort ?? 0, docker: opts.dockerPort ?? 0 },
  });
  const env = world.env;
  process.stdout.write(
    [
      'docker-idp-sync sandbox is running (Ctrl-C to stop)',
      '',
      `  Okta emulator         ${env.OKTA_ORG_URL}   app id ${env.OKTA_APP_ID}`,
      `  Docker SCIM emulator  ${env.DOCKER_SCIM_BASE_URL}`,
      `  Seeded users          ${world.directory.users.size} (${world.directory.assignedUsers().length} assigned), groups ${world.directory.groups.size}`,
      '',
      'Point docker-idp-sync at it (these tokens only open the emulators):',
      '',
      ...Object.entries(env).map(([k, v]) => `  export ${k}=${shellQuote(v)}`),
      '  export STATE_DB=./data/sandbox-state.db',
      '',
      'Then, in another terminal:  npx docker-idp-sync sync --dry-run',
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
