import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommanderError, InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { emit } from '../../src/commands/output.ts';
import { ConfigError } from '../../src/config/errors.ts';
import { DockerApiError } from '../../src/docker/errors.ts';
import { BUG_PREFIX, FileError, failureText, Interrupted, isExpected } from '../../src/logging/failure.ts';
import { AppError, SourceReadError } from '../../src/model/errors.ts';
import { StateError } from '../../src/state/errors.ts';
import { captureLogs } from '../support/logs.ts';

const STACK_FRAME = /^\s+at /m;

/** A real TypeError, thrown the way a bug throws one. */
function typeError(): TypeError {
  try {
    const missing = undefined as unknown as { padEnd(n: number): string };
    missing.padEnd(3);
  } catch (err) {
    return err as TypeError;
  }
  throw new Error('unreachable');
}

function errnoError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path, errno: -1 });
}

describe('what stderr shows for a failure', () => {
  const expected: Array<{ name: string; err: unknown; text: string }> = [
    { name: 'a configuration error', err: new ConfigError([{ env: 'OKTA_ORG_URL', path: 'okta.orgUrl', problem: 'is required', fix: 'set it' }]), text: 'The configuration is not valid:\n  - OKTA_ORG_URL (okta.orgUrl): is required\n    fix: set it' },
    { name: 'an unreadable IdP', err: new SourceReadError('cannot read Okta: connection refused', { system: 'okta', operation: 'GET /api/v1/apps/x', hint: 'check OKTA_ORG_URL' }), text: 'error: cannot read Okta: connection refused\n  fix: check OKTA_ORG_URL' },
    { name: 'a Docker error', err: new DockerApiError('Docker refused the token', { code: 'DOCKER_UNAUTHORIZED', operation: 'GET /Users', status: 401 }), text: 'error: Docker refused the token' },
    { name: 'an unusable state file', err: new StateError('the state file is corrupt', 'restore it'), text: 'error: the state file is corrupt\n  fix: restore it' },
    { name: 'a file the admin named', err: new FileError('write the report to', '/r/x.md', errnoError('ENOSPC', 'write', '/r/.x.tmp'), 'free space'), text: 'error: cannot write the report to /r/x.md: no space left on the device (ENOSPC)\n  fix: free space' },
    { name: 'a bare file-system error', err: errnoError('EACCES', 'open', '/data/state.db'), text: 'error: cannot open /data/state.db: permission denied (EACCES)' },
    { name: "commander's own error", err: new InvalidArgumentError('--users must be at least 10'), text: 'error: --users must be at least 10' },
    { name: 'a stop by signal', err: new Interrupted('SIGTERM'), text: 'error: stopped by SIGTERM' },
  ];

  it.each(expected)('$name: its own message, no stack', ({ err, text }) => {
    expect(isExpected(err)).toBe(true);
    expect(failureText(err)).toBe(text);
    expect(failureText(err)).not.toMatch(STACK_FRAME);
  });

  it('every typed error of the product is an AppError (so it is told as expected)', () => {
    for (const err of [new SourceReadError('x', { system: 'okta', operation: 'y' }), new DockerApiError('x', { code: 'C', operation: 'y' }), new StateError('x', 'y')]) expect(err).toBeInstanceOf(AppError);
    expect(new InvalidArgumentError('x')).toBeInstanceOf(CommanderError);
  });

  it('a bug: one line that says so, with the error in one line, never the stack', () => {
    const err = typeError();
    expect(err.stack).toMatch(STACK_FRAME);
    expect(isExpected(err)).toBe(false);
    expect(failureText(err)).toBe(`error: ${BUG_PREFIX}: TypeError: ${err.message}`);
    expect(failureText(new Error('first line\n    at fake (frame.ts:1:1)'))).toBe(`error: ${BUG_PREFIX}: first line`);
    expect(failureText('a thrown string')).toBe(`error: ${BUG_PREFIX}: a thrown string`);
  });
});

describe('errors in the log', () => {
  it('an expected error is logged without a stack, even at debug level', () => {
    const logs = captureLogs('debug');
    logs.logger.error({ err: new SourceReadError('cannot read Okta', { system: 'okta', operation: 'GET x' }) }, 'read failed');
    logs.logger.error({ err: new FileError('write the report to', '/r', errnoError('EACCES', 'open', '/r'), 'fix') }, 'write failed');
    expect(logs.lines.map((l) => (l.err as { message: string }).message)).toEqual(['cannot read Okta', 'cannot write the report to /r: permission denied (EACCES)']);
    expect(logs.text()).not.toContain('"stack"');
  });

  it('an unexpected error is logged with its stack only at debug or trace', () => {
    for (const level of ['info', 'warn', 'error']) {
      const logs = captureLogs(level);
      logs.logger.error({ err: typeError() }, 'boom');
      logs.logger.error(typeError(), 'boom as the first argument');
      expect(logs.lines.map((l) => (l.err as { type: string }).type)).toEqual(['TypeError', 'TypeError']);
      expect(logs.text(), level).not.toContain('"stack"');
    }
    for (const level of ['debug', 'trace']) {
      const logs = captureLogs(level);
      logs.logger.debug({ err: typeError() }, 'boom');
      expect((logs.lines[0]?.err as { stack: string }).stack, level).toMatch(STACK_FRAME);
    }
  });
});

describe('a report file', () => {
  it('a failed write leaves no temp file behind and names the path, not the temp file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'emit-'));
    const target = join(dir, 'is-a-folder');
    writeFileSync(join(dir, 'keep.txt'), 'x');
    // A folder at the target: the temp file is written, then the rename fails (EISDIR).
    mkdirSync(target);
    let err: unknown;
    try {
      emit('the report\n', target);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FileError);
    expect((err as FileError).message).toMatch(new RegExp(`^cannot write the report to ${target}: it is a folder \\(EISDIR\\)$`));
    expect(readdirSync(dir).sort()).toEqual(['is-a-folder', 'keep.txt']);
    expect(readFileSync(join(dir, 'keep.txt'), 'utf8')).toBe('x');
  });
});
