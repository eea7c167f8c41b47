import pLimit from 'p-limit';

/**
 * Runs `work` over `items`, `limit` at a time. The first failure stops new work, waits for what is
 * already running (so nothing is left half-done behind the caller's back), and is rethrown.
 */
export async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const run = pLimit(Math.max(1, Math.floor(limit) || 1));
  let failure: { err: unknown } | null = null;
  await Promise.all(
    items.map((item) =>
      run(async () => {
        if (failure !== null) return;
        try {
          await work(item);
        } catch (err) {
          failure ??= { err };
        }
      }),
    ),
  );
  if (failure !== null) throw (failure as { err: unknown }).err;
}
