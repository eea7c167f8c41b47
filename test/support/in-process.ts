import { vi } from 'vitest';

/** Runs a command in this process, capturing what it prints on stdout, and what it returns or throws. */
export async function inProcess<T>(fn: () => T | Promise<T>): Promise<{ value?: T; error?: unknown; stdout: string }> {
  let stdout = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  try {
    const value = await fn();
    return { value, stdout };
  } catch (error) {
    return { error, stdout };
  } finally {
    spy.mockRestore();
  }
}
