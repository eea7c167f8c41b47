/**
 * `--write-docs`: the results section of docs/performance.md is the benchmark's to rewrite, between
 * two markers; the prose around it is people's. Pure: text in, text out.
 */

export const RESULTS_START = '<!-- bench:results:start -->';
export const RESULTS_END = '<!-- bench:results:end -->';

export function replaceResults(doc: string, results: string): string {
  const start = doc.indexOf(RESULTS_START);
  const end = doc.indexOf(RESULTS_END);
  if (start < 0 || end < 0 || end < start) {
    throw new Error(`docs/performance.md has no results section: it needs the lines ${RESULTS_START} and ${RESULTS_END}, in that order`);
  }
  return `${doc.slice(0, start + RESULTS_START.length)}\n\n${results.trim()}\n\n${doc.slice(end)}`;
}
