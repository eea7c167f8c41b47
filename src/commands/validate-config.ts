import { CONFIG_KEYS } from '../config/keys.ts';
import { flatten } from '../config/load.ts';
import type { CommandContext } from './context.ts';

/** `validate-config`: the effective configuration, where each value came from, secrets masked. */
export function validateConfigCommand(ctx: CommandContext): number {
  const { config } = ctx;
  const lines = ['Configuration is valid.', ''];
  const flat = flatten(config as unknown as Record<string, unknown>);
  for (const key of CONFIG_KEYS) {
    if (key.source && key.source !== config.source) continue;
    const origin = config.origins[key.path];
    if (!origin) continue;
    const value = key.type === 'secret' ? '[set, hidden]' : JSON.stringify(flat[key.path] ?? rawOf(key.path, config));
    lines.push(`  ${key.env.padEnd(26)} ${String(value).padEnd(40)} (${origin})`);
  }
  process.stdout.write(ctx.scrub(`${lines.join('\n')}\n`));
  return 0;
}


/** Keys whose validated form lives elsewhere in Config (timeouts in ms, the auth union). */
function rawOf(path: string, config: CommandContext['config']): unknown {
  switch (path) {
    case 'docker.timeoutSeconds':
      return config.docker.timeoutMs / 1000;
    case 'sync.idpTimeoutSeconds':
      return config.sync.idpTimeoutMs / 1000;
    case 'okta.clientId':
    case 'okta.keyId':
    case 'okta.scopes': {
      const auth = config.okta?.auth;
      if (!auth || auth.kind !== 'privateKey') return undefined;
      return path === 'okta.clientId' ? auth.clientId : path === 'okta.keyId' ? auth.keyId : auth.scopes.join(' ');
    }
    default:
      return undefined;
  }
}
