import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, fchmodSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FileError } from '../logging/failure.ts';

/** Writes a report to a file (0600: it names people) or to stdout. */
export function emit(text: string, output?: string): void {
  if (output) writePrivateFile(output, text);
  else process.stdout.write(text);
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
function writePrivateFile(path: string, text: string): void {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | null = null;
  let created = false;
  try {
    fd = openSync(temp, 'wx', 0o600);
    created = true;
    fchmodSync(fd, 0o600); // the umask may have taken bits away; it never adds any, but be exact
    writeFileSync(fd, text);
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
