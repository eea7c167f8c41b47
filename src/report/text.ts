import { subjectOf } from '../model/plan.ts';
import { allFindings, changeLines, countsLines, resultLookup, statusText, title, type ReportInput } from './describe.ts';

/** A report for a terminal: counts first, one row per operation, then findings. */
export function renderText(input: ReportInput): string {
  return [...textReport(input)].join('');
}

/**
 * The same report in pieces, one operation's lines each, so a first sync of 100,000 users is
 * printed as it is made instead of held whole (28 MB of text, twice that as a JavaScript string).
 */
export function* textReport(input: ReportInput): Generator<string> {
  const head: string[] = [title(input), ''];
  head.push('Summary');
  for (const l of countsLines(input)) head.push(`  ${l}`);
  head.push('');

  const ops = input.plan.operations;
  if (ops.length === 0) {
    head.push('Operations: none — Docker already matches the IdP.');
    yield lines(head);
  } else {
    const withResult = input.result !== undefined || ops.some((o) => o.blocked);
    const resultOf = resultLookup(input.result);
    // Column widths need every row, so the rows are described twice rather than all kept at once.
    const w = { kind: 4, subject: 7, change: 6 };
    for (const op of ops) {
      w.kind = Math.max(w.kind, op.kind.length);
      w.subject = Math.max(w.subject, subjectOf(op).length);
      for (const c of changeLines(op)) w.change = Math.max(w.change, c.length);
    }
    w.subject = Math.min(40, w.subject);
    w.change = Math.min(56, w.change);
    head.push('Operations');
    head.push(`  ${pad('KIND', w.kind)}  ${pad('SUBJECT', w.subject)}  ${pad('CHANGE', w.change)}  ${withResult ? 'RESULT · ' : ''}REASON`);
    yield lines(head);
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as (typeof ops)[number];
      const tail = withResult ? `${statusText(resultOf(op, i), op)} · ${op.reason}` : op.reason;
      const kind = pad(op.kind, w.kind);
      const subject = pad(subjectOf(op), w.subject);
      const rows = changeLines(op).map((c, n) => (n === 0 ? `  ${kind}  ${subject}  ${pad(c, w.change)}  ${tail}` : `  ${pad('', w.kind)}  ${pad('', w.subject)}  ${c}`));
      if (rows.length > 0) yield lines(rows);
    }
  }
  const out: string[] = [''];
  const findings = allFindings(input);
  if (findings.length === 0) out.push('Findings: none');
  else {
    out.push('Findings');
    for (const f of findings) {
      out.push(`  ${f.severity.toUpperCase().padEnd(7)} ${f.code.padEnd(20)} ${f.subject}`);
      out.push(`          ${f.message}`);
      if (f.advice) out.push(`          → ${f.advice}`);
    }
  }
  yield lines(out);
}

function lines(ls: readonly string[]): string {
  return `${ls.join('\n')}\n`;
}

function pad(s: string, width: number): string {
  return s.length > width ? `${s.slice(0, width - 1)}…` : s.padEnd(width);
}
