import { subjectOf } from '../model/plan.ts';
import { changeLines, countsLines, resultsById, statusText, title, type ReportInput } from './describe.ts';

/** A report for a terminal: counts first, one row per operation, then findings. */
export function renderText(input: ReportInput): string {
  const out: string[] = [title(input), ''];
  out.push('Summary');
  for (const l of countsLines(input)) out.push(`  ${l}`);
  out.push('');

  const ops = input.plan.operations;
  if (ops.length === 0) {
    out.push('Operations: none — Docker already matches the IdP.');
  } else {
    const withResult = input.result !== undefined || ops.some((o) => o.blocked);
    const results = resultsById(input.result);
    const rows = ops.map((op) => ({
      kind: op.kind,
      subject: subjectOf(op),
      change: changeLines(op),
      reason: op.reason,
      status: statusText(results.get(op.id), op),
    }));
    // Widths by a loop: spreading 100,000 rows into Math.max overflows the call stack.
    const w = { kind: 4, subject: 7, change: 6 };
    for (const r of rows) {
      w.kind = Math.max(w.kind, r.kind.length);
      w.subject = Math.max(w.subject, r.subject.length);
      for (const c of r.change) w.change = Math.max(w.change, c.length);
    }
    w.subject = Math.min(40, w.subject);
    w.change = Math.min(56, w.change);
    out.push('Operations');
    out.push(`  ${pad('KIND', w.kind)}  ${pad('SUBJECT', w.subject)}  ${pad('CHANGE', w.change)}  ${withResult ? 'RESULT · ' : ''}REASON`);
    for (const r of rows) {
      const tail = withResult ? `${r.status} · ${r.reason}` : r.reason;
      r.change.forEach((c, i) => {
        out.push(i === 0 ? `  ${pad(r.kind, w.kind)}  ${pad(r.subject, w.subject)}  ${pad(c, w.change)}  ${tail}` : `  ${pad('', w.kind)}  ${pad('', w.subject)}  ${c}`);
      });
    }
  }
  out.push('');
  const findings = input.plan.findings;
  if (findings.length === 0) out.push('Findings: none');
  else {
    out.push('Findings');
    for (const f of findings) {
      out.push(`  ${f.severity.toUpperCase().padEnd(7)} ${f.code.padEnd(20)} ${f.subject}`);
      out.push(`          ${f.message}`);
      if (f.advice) out.push(`          → ${f.advice}`);
    }
  }
  return `${out.join('\n')}\n`;
}

function pad(s: string, width: number): string {
  return s.length > width ? `${s.slice(0, width - 1)}…` : s.padEnd(width);
}
