/**
 * The one line a progress display keeps redrawn at the bottom of a terminal. A log line written
 * under it would land in the middle of it, so the logger clears it first (and the display draws it
 * again on its next tick).
 */
let clearer: (() => void) | null = null;

export function onLogLine(clear: (() => void) | null): void {
  clearer = clear;
}

export function beforeLogLine(): void {
  clearer?.();
}
