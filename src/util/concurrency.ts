/**
 * Runs `work` over `items`, `limit` at a time. The first failure stops new work, waits for what is
 * already running (so nothing is left half-done behind the caller's back), and is rethrown.
 *
 * `limit` workers each take the next item when they are free. Not p-limit (which the transport
 * uses for its request slots): it queues a task, a closure and a promise for every item up front,
 * and the executor iterates over every operation of a plan, which held ~35 MB of queued tasks
 * at 100,000 users (a heap snapshot in the middle of a first sync). Nor p-map, whose
 * stopOnError rejects without waiting for the work still running.
 */
export async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | null = null;
  const worker = async (): Promise<void> => {
    while (failure === null && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  const workers = Math.max(1, Math.min(Math.floor(limit) || 1, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  if (failure !== null) throw (failure as { err: unknown }).err;
}
