import { writeFileSync } from 'node:fs';

/** Writes a report to a file (0600: it names people) or to stdout. */
export function emit(text: string, output?: string): void {
  if (output) writeFileSync(output, text, { mode: 0o600 });
  else process.stdout.write(text);
}
