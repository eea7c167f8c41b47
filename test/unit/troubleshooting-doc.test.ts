import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * docs/troubleshooting.md has a section for every code an admin can meet: each finding code (the
 * FindingCode union), each note code an IdP reader makes, each error code an operation can end
 * with. The codes are read from the source, so a new one without a section fails here.
 */
const root = new URL('../../', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(root, path), 'utf8');

function files(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(root, path)).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

function codes(paths: readonly string[], pattern: RegExp): string[] {
  return [...new Set(paths.flatMap((p) => [...read(p).matchAll(pattern)].map((m) => m[1] as string)))].sort();
}

describe('docs/troubleshooting.md', () => {
  const doc = read('docs/troubleshooting.md');
  const sections = new Set([...doc.matchAll(/^### ([A-Z0-9_]+)$/gm)].map((m) => m[1]));

  const findingCodes = codes(['src/model/finding.ts'], /^\s*\| '([A-Z_]+)'/gm);
  const noteCodes = codes(files('src/sources'), /code: '([A-Z_]+)'/g);
  const errorCodes = codes([...files('src/docker'), 'src/apply/executor.ts', 'src/run/sync.ts'], /code(?::| =) (?:\w+ \? )?'((?:DOCKER|STATE|INTERNAL)[A-Z0-9_]*)'(?: : '((?:DOCKER)[A-Z_]+)')?/g);

  it('finds the codes it checks in the source', () => {
    expect(findingCodes.length).toBeGreaterThan(25);
    expect(findingCodes).toContain('SEATS_EXHAUSTED');
    expect(noteCodes).toEqual(expect.arrayContaining(['GROUP_MEMBERS_NOT_ASSIGNED', 'ENTRA_NESTED_GROUP']));
    expect(errorCodes).toEqual(expect.arrayContaining(['DOCKER_SEATS', 'DOCKER_TIMEOUT', 'STATE_UNRECORDED', 'INTERNAL']));
  });

  it.each([...findingCodes, ...noteCodes, ...errorCodes, 'DOCKER_ABORTED_UNCONFIRMED', 'DOCKER_REDIRECT'])('has a section for %s', (code) => {
    expect(sections.has(code)).toBe(true);
  });

  it('every section is a code that still exists', () => {
    const known = new Set([...findingCodes, ...noteCodes, ...errorCodes, 'DOCKER_ABORTED_UNCONFIRMED', 'DOCKER_REDIRECT']);
    expect([...sections].filter((s) => !known.has(s as string))).toEqual([]);
  });

  it('the README links to it', () => {
    expect(read('README.md')).toContain('docs/troubleshooting.md');
  });
});
