import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { combineObservers, LoggedProgress, ProgressTracker, TerminalProgress } from '../../src/run/progress.ts';
import { captureLogs } from '../support/logs.ts';

describe('the progress line', () => {
  it('shows what each read has listed, with Docker\'s total where it is known', () => {
    const t = new ProgressTracker(() => 0);
    expect(t.started).toBe(false);
    t.listed('okta', 'users', 12_000, null);
    t.listed('docker', 'users', 8_000, 10_000);
    expect(t.line()).toBe('reading: okta 12,000 users, docker 8,000/10,000 users');
  });

  it('while applying: done of total, the rate, and the time left', () => {
    let now = 0;
    const t = new ProgressTracker(() => now);
    t.applied(0, 10_000);
    now = 100_000;
    t.applied(1_000, 10_000);
    expect(t.line()).toBe('applying: 1,000/10,000 operations (10/s, ~15 min left)');
    now = 1_000_000;
    t.applied(10_000, 10_000);
    expect(t.line()).toBe('applying: 10,000/10,000 operations (10/s)');
    expect(t.fields()).toMatchObject({ applied: 10_000, operations: 10_000 });
  });

  it('is drawn in place only on a terminal, and erased at the end', async () => {
    const written: string[] = [];
    const sink = Object.assign(new Writable({ write: (c, _e, cb) => (written.push(String(c)), cb()) }), { isTTY: true, columns: 40 }) as unknown as NodeJS.WriteStream;
    const t = new ProgressTracker(() => 0);
    const p = new TerminalProgress(t, sink);
    p.start(5);
    t.listed('entra', 'assignments', 999, null);
    await new Promise((r) => setTimeout(r, 50));
    p.stop();
    expect(written.some((w) => w.startsWith('\r\x1b[Kreading: entra 999 assignments'))).toBe(true);
    expect(written.every((w) => w.length <= 4 + 40)).toBe(true);
    expect(written.at(-1)).toBe('\r\x1b[K');

    // A pseudo-terminal without a size (script, some CI runners) says 0 columns: not 20-character lines.
    const wide: string[] = [];
    const sizeless = Object.assign(new Writable({ write: (c, _e, cb) => (wide.push(String(c)), cb()) }), { isTTY: true, columns: 0 }) as unknown as NodeJS.WriteStream;
    t.listed('okta', 'users', 123_456, null);
    const r = new TerminalProgress(t, sizeless);
    r.start(5);
    await new Promise((res) => setTimeout(res, 30));
    r.stop();
    expect(wide.some((w) => w.includes('okta 123,456 users'))).toBe(true);

    const piped: string[] = [];
    const pipe = Object.assign(new Writable({ write: (c, _e, cb) => (piped.push(String(c)), cb()) }), { isTTY: false }) as unknown as NodeJS.WriteStream;
    const q = new TerminalProgress(t, pipe);
    q.start(5);
    await new Promise((r) => setTimeout(r, 30));
    q.stop();
    expect(piped).toEqual([]);
  });

  it('metrics and progress see the same events', () => {
    const seen: string[] = [];
    const metrics = { request: () => seen.push('request'), retry: () => seen.push('retry'), waited: () => seen.push('waited') };
    const t = new ProgressTracker(() => 0);
    const both = combineObservers(metrics, t, undefined);
    both.request('docker', 'GET', 200);
    both.listed('docker', 'users', 200, 400);
    both.applied(1, 2);
    expect(seen).toEqual(['request']);
    expect(t.line()).toContain('applying: 1/2');
  });

  it('the daemon logs the line every few seconds while a run goes, and nothing before it starts', async () => {
    const logs = captureLogs('info');
    const t = new ProgressTracker(() => 0);
    const p = new LoggedProgress(t, logs.logger);
    p.start(5);
    await new Promise((r) => setTimeout(r, 30));
    expect(logs.lines).toEqual([]);
    t.listed('okta', 'users', 500, null);
    await new Promise((r) => setTimeout(r, 30));
    p.stop();
    const n = logs.lines.length;
    expect(n).toBeGreaterThan(0);
    expect(logs.lines[0]).toMatchObject({ msg: 'progress: reading: okta 500 users', read: { 'okta:users': 500 } });
    await new Promise((r) => setTimeout(r, 30));
    expect(logs.lines.length).toBe(n);
  });

  it('a log line clears the progress line first, so they never share a line', async () => {
    const written: string[] = [];
    const sink = Object.assign(new Writable({ write: (c, _e, cb) => (written.push(String(c)), cb()) }), { isTTY: true, columns: 80 }) as unknown as NodeJS.WriteStream;
    const t = new ProgressTracker(() => 0);
    const p = new TerminalProgress(t, sink);
    const logs = captureLogs('info');
    p.start(5);
    t.listed('docker', 'users', 200, 400);
    await new Promise((r) => setTimeout(r, 30));
    written.length = 0;
    logs.logger.info('a line');
    p.stop();
    expect(written[0]).toBe('\r\x1b[K');
  });
});
