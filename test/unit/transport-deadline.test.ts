import { describe, expect, it } from 'vitest';
import { deadline } from '../../src/transport/deadline.ts';

/** The per-request timeout: it fires, it follows the outer signal, and once cleared it holds nothing. */
describe('deadline', () => {
  it('aborts with a TimeoutError when the time runs out, and says it expired', async () => {
    const d = deadline(5);
    await new Promise<void>((resolve) => d.signal.addEventListener('abort', () => resolve(), { once: true }));
    expect(d.expired).toBe(true);
    expect((d.signal.reason as DOMException).name).toBe('TimeoutError');
    d.clear();
  });

  it('follows the outer signal (shutdown) without counting it as a timeout', () => {
    const outer = new AbortController();
    const d = deadline(60_000, outer.signal);
    outer.abort(new Error('shutting down'));
    expect(d.signal.aborted).toBe(true);
    expect(d.expired).toBe(false);
    d.clear();
    const already = deadline(60_000, outer.signal);
    expect(already.signal.aborted).toBe(true);
    already.clear();
  });

  it('once cleared, the timer never fires and the outer signal no longer reaches it', async () => {
    const outer = new AbortController();
    const d = deadline(5, outer.signal);
    d.clear();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(d.signal.aborted).toBe(false);
    outer.abort();
    expect(d.signal.aborted).toBe(false);
  });
});
