import { describe, expect, it } from 'vitest';
import { isAmbiguousFailure } from '../../src/state/in-flight.ts';

/** Which failed writes the next run must check against Docker before planning them again. */
describe('a failed write whose fate is unknown', () => {
  it.each([
    ['DOCKER_TIMEOUT', true],
    ['DOCKER_NETWORK', true],
    ['DOCKER_BAD_RESPONSE', true],
    ['DOCKER_HTTP_503', true],
    // Stopped for shutdown after an attempt whose answer was lost: it may have landed.
    ['DOCKER_ABORTED_UNCONFIRMED', true],
    // Stopped for shutdown before Docker could have acted on any attempt.
    ['DOCKER_ABORTED', false],
    ['DOCKER_HTTP_409', false],
    ['DOCKER_REDIRECT', false],
    ['DOCKER_SEATS', false],
  ])('%s → %s', (code, ambiguous) => {
    expect(isAmbiguousFailure({ code })).toBe(ambiguous);
  });
});
