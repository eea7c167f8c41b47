import { CommanderError } from 'commander';
import { ConfigError } from '../config/errors.ts';
import { AppError } from '../model/errors.ts';

/**
 * How a failure is told to the admin. An expected failure (bad configuration, an unreachable or
 * refusing upstream, an unusable state file, a file the admin named that cannot be written) gets
 * its own clear message and never a stack trace: the stack says nothing the admin can act on. Any
 * other error is a bug in this program: one line that says so, and the stack only on request
 * (--log-level debug), through the logger so it is scrubbed like every other line.
 */

export const BUG_PREFIX = 'unexpected failure (this is a bug in docker-idp-sync; please report it with the output of --log-level debug)';

/** Why a file (or port) operation failed, in words, for the errno codes an admin can act on. */
const FILE_REASONS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'it is a folder',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EEXIST: 'it already exists',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EBUSY: 'the file is busy',
  EXDEV: 'it is on another device',
  EADDRINUSE: 'the address is already in use',
  EADDRNOTAVAIL: 'the address is not available on this machine',
};

type SystemError = NodeJS.ErrnoException & { code: string; path?: string; address?: string; port?: number };

function isFileSystemError(err: unknown): err is SystemError {
  const e = err as NodeJS.ErrnoException;
  return err instanceof Error && typeof e.code === 'string' && e.code in FILE_REASONS && typeof e.syscall === 'string';
}

/** A file the admin named (e.g. `--output`) could not be used; says which, why, and what to do. */
export class FileError extends Error {
  readonly path: string;
  readonly code: string | undefined;
  readonly fix: string;

  constructor(action: string, path: string, cause: unknown, fix: string) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const reason = code && FILE_REASONS[code] ? `${FILE_REASONS[code]} (${code})` : oneLine(cause);
    super(`cannot ${action} ${path}: ${reason}`, { cause });
    this.name = 'FileError';
    this.path = path;
    this.code = code;
    this.fix = fix;
  }

  describe(): string {
    return `${this.message}\n  fix: ${this.fix}`;
  }
}

/** The run was stopped by a signal: not a failure of the program, and no bug. */
export class Interrupted extends Error {
  constructor(signal: string) {
    super(`stopped by ${signal}`);
    this.name = 'Interrupted';
  }
}

export function isExpected(err: unknown): boolean {
  return err instanceof ConfigError || err instanceof AppError || err instanceof FileError || err instanceof Interrupted || err instanceof CommanderError || isFileSystemError(err);
}

/** What stderr shows for a failure: the admin's message, or the bug line. Never a stack. */
export function failureText(err: unknown): string {
  if (err instanceof ConfigError) return err.message;
  if (err instanceof AppError || err instanceof FileError) return `error: ${err.describe()}`;
  if (err instanceof CommanderError) return err.message.startsWith('error:') ? err.message : `error: ${err.message}`;
  if (err instanceof Interrupted) return `error: ${err.message}`;
  if (isFileSystemError(err)) {
    const where = err.path ?? (err.address !== undefined ? `${err.address}${err.port !== undefined ? `:${err.port}` : ''}` : '');
    const what = where ? `${err.syscall} ${where}` : String(err.syscall);
    return `error: cannot ${what}: ${FILE_REASONS[err.code]} (${err.code})`;
  }
  return `error: ${BUG_PREFIX}: ${oneLine(err)}`;
}

/**
 * An error as a log field (pino's `err`): its type, message and codes; the stack only for an
 * unexpected error and only when asked for, since pino's own serializer would print it always.
 */
export function serializeError(err: unknown, withStack: boolean): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const e = err as Error & { code?: unknown; status?: unknown };
  return {
    type: e.name,
    message: e.message,
    ...(e.code !== undefined ? { code: e.code } : {}),
    ...(e.status !== undefined ? { status: e.status } : {}),
    ...(withStack && !isExpected(err) && e.stack ? { stack: e.stack } : {}),
  };
}

function oneLine(err: unknown): string {
  if (err instanceof Error) {
    const first = (err.message.split('\n')[0] ?? '').trim();
    return err.name && err.name !== 'Error' ? `${err.name}: ${first}` : first || err.name;
  }
  return String(err).split('\n')[0] ?? '';
}
