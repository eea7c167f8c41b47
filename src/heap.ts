import { setFlagsFromString } from 'node:v8';

/**
 * Keeps V8's heap near what a run really holds. A first sync of 100,000 users holds about 200 MB of
 * live objects at its peak, but each write makes short-lived garbage (request and answer objects,
 * journal rows, log lines), and with V8's defaults the old generation was let grow up to four
 * times between full collections, and the young generation to 134 MB: 1.5 GB of RSS for 200 MB
 * held. Measured on a first sync of 30,000 users (docs/performance.md "Memory"):
 *
 * | V8 settings                                        | peak RSS | CPU    |
 * |----------------------------------------------------|----------|--------|
 * | defaults                                           | 788 MB   | 20.9 s |
 * | --heap-growing-percent=25                          | 475 MB   | 22.5 s |
 * | and --max-semi-space-size=16                        | 361 MB   | 25.9 s |
 *
 * The run is bound by the APIs' rate limits, not by CPU, so trading ~20 % more CPU for half the
 * memory is the right way round for a container with a memory limit.
 *
 * The growing factor is read at each full collection, so it can be set here at start-up, for
 * every entry point. The young generation's size is fixed when V8 starts, so
 * `--max-semi-space-size` is passed on the command line where the tool is launched: the image's
 * ENTRYPOINT, the systemd unit, the npm scripts (a test checks each).
 */
export const HEAP_GROWING_PERCENT = 25;
export const SEMI_SPACE_FLAG = '--max-semi-space-size=16';

export function tuneHeap(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
