import type { ReportInput } from './describe.ts';
import { renderJson } from './json.ts';
import { renderMarkdown } from './markdown.ts';
import { renderText } from './text.ts';

export type ReportFormat = 'text' | 'json' | 'markdown';
export const REPORT_FORMATS: readonly ReportFormat[] = ['text', 'json', 'markdown'];

export function renderReport(format: ReportFormat, input: ReportInput): string {
  switch (format) {
    case 'json':
      return renderJson(input);
    case 'markdown':
      return renderMarkdown(input);
    default:
      return renderText(input);
  }
}

export type { ReportInput } from './describe.ts';
export { REPORT_FORMAT, REPORT_VERSION } from './json.ts';
