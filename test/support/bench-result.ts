import { REFERENCE_LIMITS } from '../../bench/limits.ts';
import type { BenchResult } from '../../bench/result.ts';
import { FULL_SIZES } from '../../bench/workloads.ts';

/** A bench result around these workloads, with the fixed machine and settings the report tests expect. */
export function benchResultOf(workloads: BenchResult['workloads']): BenchResult {
  return {
    startedAt: '2026-12-06T12:00:00.000Z',
    finishedAt: '2026-12-06T12:30:00.000Z',
    machine: { node: 'v24.5.0', cpus: 2, platform: 'linux-x64' },
    settings: { latencyMs: 20, timeScale: 10, limits: REFERENCE_LIMITS, concurrency: { docker: 4, okta: 4, graph: 4 }, sizes: FULL_SIZES, sources: ['okta'] },
    workloads,
  };
}
