import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { createLogger, type Logger } from '../../src/logging/logger.ts';

/** A real pino logger writing JSON lines into memory, to assert what is logged and what is not. */
export interface LogCapture {
  lines: Array<Record<string, unknown>>;
  text(): string;
  logger: Logger;
}

/** `secrets` go to the logger's scrubber; reader tests pass none, to prove the reader never logs them at all. */
export function captureLogs(level = 'debug', secrets: readonly string[] = []): LogCapture {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      cb();
    },
  });
  return { lines, text: () => raw.join('\n'), logger: createLogger({ level, secrets, destination }) };
}

/** The rejection of `p`, failing the test if it resolves. */
export async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the read to fail, but it returned a snapshot');
}

/** Everything an admin or a log could see of an error: message, hint, JSON and inspect() forms. */
export function errorText(err: unknown): string {
  const e = err as Error & { hint?: string; describe?: () => string };
  return [e.message, e.hint ?? '', e.describe?.() ?? '', JSON.stringify(e), inspect(e, { depth: 10 })].join('\n');
}
