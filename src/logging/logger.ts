import { createRequire } from 'node:module';
import { pino, type Logger, type DestinationStream } from 'pino';
import { serializeError } from './failure.ts';
import { scrubber } from './scrub.ts';
import { beforeLogLine } from './terminal.ts';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level?: string;
  /** Secret values to scrub from every line, whatever field they end up in. */
  secrets?: readonly string[];
  /** Human-readable lines (pino-pretty) instead of JSON. */
  pretty?: boolean;
  /** Where lines go; stderr by default so reports on stdout stay clean. */
  destination?: DestinationStream | NodeJS.WritableStream;
}

/**
 * Field names that hold secrets wherever they appear. Redaction by path is the first line of
 * defence; scrubbing known secret values out of the finished line is the second, because a secret
 * can hide in an error message or a URL that no path names.
 */
const REDACT_PATHS = [
  'token',
  'apiToken',
  'password',
  'clientSecret',
  'privateKey',
  'authorization',
  'headers.authorization',
  '*.token',
  '*.apiToken',
  '*.clientSecret',
  '*.privateKey',
  '*.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
];

export function createLogger(opts: LoggerOptions = {}): Logger {
  const scrub = scrubber(opts.secrets ?? []);
  const destination = opts.destination ?? pino.destination({ fd: 2, sync: true });
  const stream = opts.pretty ? prettyStream(destination) : destination;
  const level = opts.level ?? 'info';
  // pino's own `err` serializer prints every stack; an admin asked for stacks only with debug.
  const withStack = level === 'debug' || level === 'trace';
  return pino(
    {
      level,
      base: undefined,
      serializers: { err: (err: unknown) => serializeError(err, withStack) },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: {
        streamWrite: (line: string) => {
          beforeLogLine();
          return scrub(line);
        },
      },
      formatters: { level: (label) => ({ level: label }) },
    },
    stream as DestinationStream,
  );
}

/** In-process pino-pretty (not a worker transport), so log lines and stdout keep their order. */
function prettyStream(destination: DestinationStream | NodeJS.WritableStream): DestinationStream {
  const require = createRequire(import.meta.url);
  const pretty = require('pino-pretty') as (opts: Record<string, unknown>) => DestinationStream;
  return pretty({ destination, colorize: false, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname', sync: true });
}

/** A logger that drops everything, for library callers and unit tests that do not care. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
