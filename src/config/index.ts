export { loadConfig, type LoadOptions } from './load.ts';
export { ConfigError, type ConfigProblem } from './errors.ts';
export { CONFIG_KEYS, type ConfigKey } from './keys.ts';
export { isLoopbackHost } from './schema.ts';
export type * from './types.ts';
