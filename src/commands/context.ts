import { loadConfig, loadStateConfig, type LoadOptions } from '../config/load.ts';
import type { Config, StateOnlyConfig } from '../config/types.ts';
import { createLogger, type Logger } from '../logging/logger.ts';
import { scrubber } from '../logging/scrub.ts';
import { checkDockerDefaults } from '../run/preflight.ts';

/** What every command gets from the global options: the validated configuration and a logger. */

export interface GlobalOptions {
  config?: string;
  logLevel?: string;
  logFormat?: string;
}

export interface CommandContext {
  readonly config: Config;
  readonly logger: Logger;
  /** Removes every configured secret from a text (reports, error messages). */
  readonly scrub: (text: string) => string;
}

/**
 * What `status` and `report` get: they only read the state file, so they load only its settings
 * (and the log's) and run without the IdP or Docker credentials. A full CommandContext is one too.
 */
export interface StateContext {
  readonly config: StateOnlyConfig;
  readonly logger: Logger;
  readonly scrub: (text: string) => string;
}

export function loadContext(global: GlobalOptions, env: Record<string, string | undefined> = process.env): CommandContext {
  const config = loadConfig(configLoadOptions(global, env));
  checkDockerDefaults(config);
  return withLogger(config);
}

export function loadStateContext(global: GlobalOptions, env: Record<string, string | undefined> = process.env): StateContext {
  return withLogger(loadStateConfig(configLoadOptions(global, env)));
}

/** Where the configuration comes from: --config (or DOCKER_IDP_SYNC_CONFIG), the environment, and the log flags. */
export function configLoadOptions(global: GlobalOptions, env: Record<string, string | undefined>): LoadOptions {
  const overrides: Record<string, unknown> = {};
  if (global.logLevel) overrides['log.level'] = global.logLevel;
  if (global.logFormat) overrides['log.format'] = global.logFormat;
  const file = global.config ?? env['DOCKER_IDP_SYNC_CONFIG'];
  return { ...(file ? { file } : {}), env, overrides };
}

function withLogger<C extends StateOnlyConfig>(config: C): { config: C; logger: Logger; scrub: (text: string) => string } {
  const logger = loggerFor(config);
  for (const w of config.warnings ?? []) logger.warn(w);
  return { config, logger, scrub: scrubber(config.secrets) };
}

export function loggerFor(config: Pick<Config, 'log' | 'secrets'>): Logger {
  const pretty = config.log.format === 'pretty' || (config.log.format === 'auto' && process.stderr.isTTY === true);
  return createLogger({ level: config.log.level, secrets: config.secrets, pretty });
}
