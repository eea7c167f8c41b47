import { ConfigError } from '../config/errors.ts';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/types.ts';
import { createLogger } from '../logging/logger.ts';
import { scrubber } from '../logging/scrub.ts';
import { renderDoctorJson, renderDoctorText } from '../report/doctor.ts';
import { doctorFailed, runDoctor } from '../run/doctor.ts';
import { configLoadOptions, type GlobalOptions } from './context.ts';

export interface DoctorCommandOptions {
  format?: 'text' | 'json';
}

/**
 * `doctor`: checks the whole setup and prints one line per check. Unlike every other command it
 * runs with an invalid configuration too: the configuration's problems are its first lines. Exit
 * 1 when a check failed, 0 otherwise (warnings included).
 */
export async function doctorCommand(global: GlobalOptions, opts: DoctorCommandOptions, env: Record<string, string | undefined> = process.env): Promise<number> {
  let config: Config | null = null;
  let invalid: ConfigError | null = null;
  try {
    config = loadConfig(configLoadOptions(global, env));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    invalid = err;
  }
  // The clients log what they do and doctor's lines say it already: only warnings and worse go to
  // stderr unless a level was asked for.
  const asked = global.logLevel ?? (config && config.origins['log.level'] !== 'default' ? config.log.level : undefined);
  const logger = createLogger({ level: asked ?? 'warn', secrets: config?.secrets ?? [], pretty: false });
  const checks = await runDoctor({
    load: () => {
      if (config) return config;
      throw invalid;
    },
    logger,
  });
  const source = config?.source ?? null;
  const text = opts.format === 'json' ? renderDoctorJson(checks, source) : renderDoctorText(checks, source);
  process.stdout.write(scrubber(config?.secrets ?? [])(text));
  return doctorFailed(checks) ? 1 : 0;
}
