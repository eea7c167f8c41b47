/** The few text helpers every table of the report uses. Pure. */

export function row(cells: readonly string[]): string {
  return `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [row(header), row(header.map(() => '---')), ...rows.map(row)].join('\n');
}

export function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').slice(0, 200);
}

export function int(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fmt(n: number, digits: number): string {
  return n.toFixed(digits);
}

export function pct(part: number, whole: number): string {
  return whole > 0 ? `${((part / whole) * 100).toFixed(1)} %` : '0.0 %';
}
