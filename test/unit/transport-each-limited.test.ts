import { describe, expect, it } from 'vitest';
import { eachLimited } from '../../src/util/concurrency.ts';

/** eachLimited: the bound, what the first failure does, and that it does not queue every item up front. */

const tick = () => new Promise((r) => setImmediate(r));

describe('eachLimited', () => {
  it('never runs more than `limit` at once, and runs them all', async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await eachLimited([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      most = Math.max(most, running);
      await tick();
      running--;
      done.push(n);
    });
    expect(most).toBe(3);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('the first failure stops new work, waits for what is running, and is rethrown', async () => {
    const started: number[] = [];
    let finishedAfterFailure = false;
    const err = await eachLimited([1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      if (n === 1) throw new Error('item 1 failed');
      await tick();
      await tick();
      finishedAfterFailure = true;
    }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe('item 1 failed');
    // 2 was already running and is awaited; 3, 4 and 5 never start.
    expect(started).toEqual([1, 2]);
    expect(finishedAfterFailure).toBe(true);
  });

  it('takes an item only when a worker is free: a long list is never queued whole', async () => {
    const items = Array.from({ length: 1000 }, (_, i) => i);
    let taken = 0;
    const seen: number[] = [];
    const lists = new Proxy(items, {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) taken++;
        return Reflect.get(target, key, receiver);
      },
    });
    await eachLimited(lists, 4, async (n) => {
      // When item n runs, at most the 4 workers' items have been taken from the list.
      seen.push(taken - n);
      await tick();
    });
    expect(Math.max(...seen)).toBeLessThanOrEqual(4);
    expect(taken).toBe(1000);
  });

  it('a limit below 1 still makes progress, one at a time', async () => {
    const seen: number[] = [];
    await eachLimited([1, 2], 0, async (n) => void seen.push(n));
    expect(seen).toEqual([1, 2]);
  });
});
