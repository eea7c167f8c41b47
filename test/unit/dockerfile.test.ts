import { readFileSync } from 'node:fs';
import { MALLOC_ENV, SEMI_SPACE_FLAG } from '../../src/heap.ts';
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
    expect(engines).toBe('>=24.5.0');
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

  it('runs the daemon by default, listening on every interface of port 8080', () => {
    const final = text.slice(text.lastIndexOf('\nFROM '));
    const cmds = [...final.matchAll(/^CMD\s+(.+)$/gm)].map((m) => m[1]);
    expect(cmds.length).toBe(1);
    expect(JSON.parse(cmds[0]!)).toEqual(['daemon']);
    expect(final).toMatch(/^EXPOSE 8080$/m);
    // The daemon's own default host is loopback, which a published port or a probe cannot reach.
    expect(final).toMatch(/^ENV\b[^]*?\bHTTP_HOST=0\.0\.0\.0\b/m);
  });

  it('health-checks /healthz with node itself (the slim image has no curl or wget)', () => {
    const hc = /^HEALTHCHECK\s+(.*?)\\?\n\s*CMD\s+(\[.*\])$/m.exec(text);
    expect(hc).not.toBeNull();
    const options = hc![1]!;
    for (const o of ['interval', 'timeout', 'start-period', 'retries']) expect(options).toMatch(new RegExp(`--${o}=\\w+`));
    const argv = JSON.parse(hc![2]!) as string[];
    expect(argv[0]).toBe('node');
    expect(argv[1]).toBe('-e');
    expect(argv[2]).toMatch(/fetch\('http:\/\/127\.0\.0\.1:'\+\(process\.env\.HTTP_PORT\|\|8080\)\+'\/healthz'\)/);
    // Any failure, a refused connection included, must exit non-zero.
    expect(argv[2]).toMatch(/process\.exit\(r\.ok\?0:1\)/);
    expect(argv[2]).toMatch(/\(\)=>process\.exit\(1\)/);
    expect(lines.join('\n')).not.toMatch(/\b(curl|wget)\b/);
  });

  it('names the package.json version wherever its usage comments tag the image', () => {
    const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    const tags = [...text.matchAll(/docker-idp-sync:(\S+)/g)].map((m) => m[1]);
    expect(tags.length).toBeGreaterThan(0);
    for (const t of tags) expect(t).toBe(version);
  });

  it('runs the compiled CLI, with the young generation sized as src/heap.ts says', () => {
    expect(text).toContain(`ENTRYPOINT ["node", "${SEMI_SPACE_FLAG}", "/app/dist/cli.js"]`);
    for (const [k, v] of Object.entries(MALLOC_ENV)) expect(text).toMatch(new RegExp(`^\\s+${k}=${v} \\\\$`, 'm'));
    expect(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).bin['docker-idp-sync']).toBe('dist/cli.js');
  });
});
