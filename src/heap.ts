import { setFlagsFromString } from 'node:v8';

/**
 * Keeps V8's heap near what a run really holds. A first sync of 100,000 users holds about 200 MB of
 * live objects at its peak, but each write makes short-lived garbage (request and answer objects,
 * journal rows, log lines), and with V8's defaults the old generation was let grow up to four
 * times between full collections, and the young generation to 134 MB: 1.5 GB of RSS for 200 MB
 * held. Measured (docs/performance.md "The price of the smaller heap"), peak RSS and process CPU:
 *
 * | V8 settings                              | first sync, 30,000  | re-run, 100,000 | first sync, 100,000 |
 * |------------------------------------------|---------------------|-----------------|---------------------|
 * | defaults                                 | 788 MB · 20.9 s     | 711 MB · 8.6 s  |                     |
 * | --max-semi-space-size=16, growing 25 %   | 361 MB · 25.9 s     | 533 MB · 17.4 s | 713 MB · 103 s      |
 * | --max-semi-space-size=16, growing 50 %   |                     | 534 MB · 10.9 s | 839 MB · 85 s       |
 *
 * Growing 50 % keeps most of the memory saved for far less collection work, so it ships. The run
 * is bound by the APIs' rate limits, not by CPU; a container is killed for memory.
 *
 * The growing factor is read at each full collection, so it can be set here at start-up, for
 * every entry point. The young generation's size is fixed when V8 starts, so
 * `--max-semi-space-size` is passed on the command line where the tool is launched: the image's
 * ENTRYPOINT, the systemd unit, the npm scripts (a test checks each).
 */
export const HEAP_GROWING_PERCENT = 50;
export const SEMI_SPACE_FLAG = '--max-semi-space-size=16';

export function tuneHeap(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

/**
 * glibc's allocator, for the memory outside V8's heap (sockets, SQLite, zlib): at most two arenas
 * instead of one per thread, and large blocks given back to the system when freed. Measured on
 * full re-runs of 100,000 users: peak RSS 504 → 460 MB, CPU unchanged. An environment variable,
 * so set where the tool is launched: the image, the systemd unit, the benchmark.
 */
export const MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' };
