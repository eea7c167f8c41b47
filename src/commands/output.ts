import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, fchmodSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FileError } from '../logging/failure.ts';

/** Writes a text to a file (0600: it names people) or to stdout. */
export function emit(text: string, output?: string): void {
  if (output) writePrivateFile(output, [text]);
  else process.stdout.write(text);
}

/**
 * Writes a report in pieces (report/index.ts reportPieces) as it is made, scrubbed of secrets, to a
 * file or to stdout. The report of a first sync of 100,000 users held whole, then scrubbed, then
 * encoded, was the peak of the run's memory. On a pipe, stdout takes what the pipe holds and
 * queues the rest in memory, so the next piece waits until the reader has taken the last one.
 */
export async function writeReport(pieces: Iterable<string>, output: string | undefined, scrub: (text: string) => string): Promise<void> {
  const batched = batches(pieces, scrub);
  if (output) return writePrivateFile(output, batched);
  for (const batch of batched) if (!process.stdout.write(batch)) await drained(process.stdout);
}

/** Settles once a stream has room again; rejects if it fails instead (a reader gone: EPIPE). */
function drained(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      stream.off('drain', onDrain);
      stream.off('close', onDrain);
      stream.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    stream.once('drain', onDrain);
    stream.once('close', onDrain);
    stream.once('error', done);
  });
}

/** Characters written at a time: few system calls, and little held. */
const BATCH_CHARS = 64 * 1024;

/**
 * Pieces joined into batches, each scrubbed whole. A batch ends only where a piece does, and a
 * renderer's piece is a whole operation or section, so no secret is cut in two.
 */
function* batches(pieces: Iterable<string>, scrub: (text: string) => string): Generator<string> {
  let pending: string[] = [];
  let size = 0;
  for (const piece of pieces) {
    pending.push(piece);
    size += piece.length;
    if (size >= BATCH_CHARS) {
      yield scrub(pending.join(''));
      pending = [];
      size = 0;
    }
  }
  if (pending.length > 0) yield scrub(pending.join(''));
}

/**
 * Checks, before anything is applied, that `--output` can be written: its folder exists and is
 * writable, and the path is not a folder. A report that could not be written after the changes
 * went out would leave the admin with changes and no report of them.
 */
export function checkOutput(output: string | undefined): void {
  if (!output) return;
  const fix = 'choose an --output path in a folder you can write to (or leave --output out to print the report)';
  try {
    accessSync(dirname(output), constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new FileError('write the report to', output, err, fix);
  }
  let isDir = false;
  try {
    isDir = statSync(output).isDirectory();
  } catch {
    // Not there yet: it will be created.
  }
  if (isDir) throw new FileError('write the report to', output, Object.assign(new Error('is a folder'), { code: 'EISDIR' }), fix);
}

/**
 * The file ends up 0600 whatever was there before: writeFileSync's mode applies only to a file it
 * creates, so a report written over an existing 0644 file would stay readable by everyone. The
 * text goes to a new file beside the target (exclusive create, so nothing planted there is
 * reused) and is renamed over it; readers see the old report or the new one, never half of one.
 * A symbolic link at the target is replaced, not followed: the admin named this path, and a link
 * planted in a shared folder must not send a list of people to a file of someone else's choosing.
 */
function writePrivateFile(path: string, pieces: Iterable<string>): void {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | null = null;
  let created = false;
  try {
    fd = openSync(temp, 'wx', 0o600);
    created = true;
    fchmodSync(fd, 0o600); // the umask may have taken bits away; it never adds any, but be exact
    for (const piece of pieces) writeAll(fd, piece);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(temp, path);
  } catch (err) {
    // A failing close must not hide the error that got us here; the temp file never stays behind.
    if (fd !== null) {
      try {
        closeSync(fd);
      } catch {}
    }
    if (created) rmSync(temp, { force: true });
    throw new FileError('write the report to', path, err, 'choose an --output path in a folder you can write to, with free space (or leave --output out to print the report)');
  }
}

/** writeSync may write less than it was given (a signal, a nearly full disk): go on until all is. */
function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
}
