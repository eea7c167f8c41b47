import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** No Docker engine runs in CI, so the image is checked where it can be: its recipe. */
const text = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
const lines = text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
const engines = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } }).engines.node;

describe('Dockerfile', () => {
  it('builds and runs on Node 24 LTS, within package.json engines', () => {
    const froms = lines.filter((l) => l.startsWith('FROM '));
    expect(froms.length).toBeGreaterThanOrEqual(1);
    for (const f of froms) expect(f).toMatch(/^FROM node:24(\.\d+)*-(slim|bookworm-slim|trixie-slim)\b/);
    expect(engines).toBe('^22.19.0 || >=24.5.0');
  });

  it('installs exactly the locked dependencies', () => {
    expect(text).toMatch(/COPY package\.json package-lock\.json/);
    expect(text).toMatch(/RUN npm ci\b/);
  });

  it('runs as an unprivileged user from the final stage on', () => {
    const final = text.slice(text.lastIndexOf('\nFROM '));
    const user = [...final.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
    expect(user.length).toBeGreaterThan(0);
    expect(user.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    expect(final.indexOf('USER ')).toBeLessThan(final.indexOf('ENTRYPOINT'));
  });

  it('keeps the state on a /data volume and has a health check', () => {
    expect(text).toMatch(/STATE_DB=\/data\/state\.db/);
    expect(text).toMatch(/VOLUME \["\/data"\]/);
    expect(text).toMatch(/^HEALTHCHECK .*\n?.*CMD /m);
  });

  it('runs the compiled CLI', () => {
    expect(text).toMatch(/ENTRYPOINT \["node", "\/app\/dist\/cli\.js"\]/);
    expect(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).bin['docker-idp-sync']).toBe('dist/cli.js');
  });
});
