import type { ReportInput } from './describe.ts';
import { jsonReport } from './json.ts';
import { markdownReport } from './markdown.ts';
import { textReport } from './text.ts';

export type ReportFormat = 'text' | 'json' | 'markdown';
export const REPORT_FORMATS: readonly ReportFormat[] = ['text', 'json', 'markdown'];

export function renderReport(format: ReportFormat, input: ReportInput): string {
  return [...reportPieces(format, input)].join('');
}

/**
 * The report in pieces, in order: what renderReport joins. A command writes them as they come, so a
 * report of 100,000 operations is never one string in memory (see commands/output.ts).
 */
export function reportPieces(format: ReportFormat, input: ReportInput): Iterable<string> {
  switch (format) {
    case 'json':
      return jsonReport(input);
    case 'markdown':
      return markdownReport(input);
    default:
      return textReport(input);
  }
}

export type { ReportInput } from './describe.ts';
export { REPORT_FORMAT, REPORT_VERSION } from './json.ts';
