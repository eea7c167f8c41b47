/**
 * `npm run bench`: the product against the emulators, for Okta and for Entra, with a per-request
 * latency and the reference's rate limits on a shortened clock; prints a table per workload and the
 * issue's targets, writes the figures as JSON, and with --write-docs puts the tables in
 * docs/performance.md. How to read it: docs/performance.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { WorldSource } from '../src/sandbox/world.ts';
import { replaceResults } from './docs.ts';
import { checkTimeScale, REFERENCE_LIMITS } from './limits.ts';
import { renderMarkdown } from './report.ts';
import type { BenchResult } from './result.ts';
import { runWorkloads } from './runner.ts';
import { FULL_SIZES, QUICK_SIZES, selectWorkloads, type Sizes } from './workloads.ts';

const USAGE = `npm run bench -- [options]

  --source okta|entra|both   which IdP (default both)
  --only <ids>               workloads, comma-separated: first-sync, scale, rerun, changed,
                             incremental, freshness
  --quick                    small populations (1,000 first sync, 2,000 re-runs, 250/500/1,000 scale)
  --users <n>                population of the re-run workloads (default 100,000)
  --first-users <n>          population of the first sync (default 10,000)
  --scale-users <a,b,c>      populations of the scale series (default 1,000,10,000,100,000)
  --latency-ms <ms>          added to every request by every emulator (default 20)
  --time-scale <n>           rate-limit windows are n times shorter, a divisor of 60 (default 10)
  --docker-per-minute <n>    Docker's assumed limit (default ${REFERENCE_LIMITS.dockerPerMinute}; none is published)
  --docker-concurrency <n>   DOCKER_CONCURRENCY for the product, and the floor's Docker concurrency (default 4)
  --idp-concurrency <n>      the floor's IdP concurrency (default 4, what the product's readers use)
  --json <file>              where the figures go as JSON (default: a file in the temp folder)
  --write-docs               rewrite the results section of docs/performance.md
  --render <file>            run nothing: print (and with --write-docs, write) the tables of a JSON
                             file an earlier run wrote
  --timeout-minutes <n>      bound on one product run (default 60)
`;

class UsageError extends Error {}

function positiveInt(name: string, raw: string | undefined, dflt: number): number {
  if (raw === undefined) return dflt;
  const n = Number(raw.replace(/[_,]/g, ''));
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a whole number of at least 1, got "${raw}"`);
  return n;
}

function nonNegative(name: string, raw: string | undefined, dflt: number): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a number of at least 0, got "${raw}"`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      source: { type: 'string', default: 'both' },
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      users: { type: 'string' },
      'first-users': { type: 'string' },
      'scale-users': { type: 'string' },
      'latency-ms': { type: 'string' },
      'time-scale': { type: 'string' },
      'docker-per-minute': { type: 'string' },
      'docker-concurrency': { type: 'string' },
      'idp-concurrency': { type: 'string' },
      json: { type: 'string' },
      'write-docs': { type: 'boolean', default: false },
      'timeout-minutes': { type: 'string' },
      render: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.render !== undefined) {
    let saved: BenchResult;
    try {
      saved = JSON.parse(readFileSync(values.render, 'utf8')) as BenchResult;
    } catch (err) {
      throw new UsageError(`--render: cannot read ${values.render}: ${(err as Error).message}`);
    }
    publish(saved, values['write-docs']);
    return 0;
  }
  const sourceFlag = values.source;
  if (sourceFlag !== 'okta' && sourceFlag !== 'entra' && sourceFlag !== 'both') throw new UsageError(`--source must be okta, entra or both, got "${sourceFlag}"`);
  const sources: WorldSource[] = sourceFlag === 'both' ? ['okta', 'entra'] : [sourceFlag];
  const workloads = (() => {
    try {
      return selectWorkloads(values.only ? values.only.split(',').map((s) => s.trim()).filter(Boolean) : null);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  })();
  const base = values.quick ? QUICK_SIZES : FULL_SIZES;
  const sizes: Sizes = {
    first: positiveInt('first-users', values['first-users'], base.first),
    large: positiveInt('users', values.users, base.large),
    scale: values['scale-users'] ? values['scale-users'].split(',').map((s) => positiveInt('scale-users', s.trim(), 1)) : base.scale,
  };
  const timeScale = positiveInt('time-scale', values['time-scale'], 10);
  const scaleProblem = checkTimeScale(timeScale);
  if (scaleProblem) throw new UsageError(scaleProblem);
  const pace = {
    latencyMs: nonNegative('latency-ms', values['latency-ms'], 20),
    timeScale,
    limits: { ...REFERENCE_LIMITS, dockerPerMinute: positiveInt('docker-per-minute', values['docker-per-minute'], REFERENCE_LIMITS.dockerPerMinute) },
  };
  const idpConcurrency = positiveInt('idp-concurrency', values['idp-concurrency'], 4);
  const concurrency = { docker: positiveInt('docker-concurrency', values['docker-concurrency'], 4), okta: idpConcurrency, graph: idpConcurrency };
  const jsonPath = values.json ?? join(tmpdir(), `docker-idp-sync-bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const timeoutMs = positiveInt('timeout-minutes', values['timeout-minutes'], 60) * 60_000;

  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const results = await runWorkloads({
    sources,
    workloads,
    sizes,
    pace,
    concurrency,
    timeoutMs,
    progress: (line) => process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`),
  });
  const result: BenchResult = {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: { node: process.version, cpus: availableParallelism(), platform: `${process.platform}-${process.arch}` },
    settings: { latencyMs: pace.latencyMs, timeScale, limits: pace.limits, concurrency, sizes, sources },
    workloads: results,
  };
  writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
  process.stderr.write(`figures written to ${jsonPath}\n`);
  publish(result, values['write-docs']);
  // A step that failed is a failed benchmark, whatever the other steps measured.
  return results.some((w) => w.steps.some((s) => s.error !== undefined)) ? 1 : 0;
}

/** Prints the tables, and with `toDocs` puts them in docs/performance.md's results section. */
function publish(result: BenchResult, toDocs: boolean): void {
  const markdown = renderMarkdown(result);
  process.stdout.write(`\n${markdown}`);
  if (toDocs) {
    const docPath = new URL('../docs/performance.md', import.meta.url).pathname;
    writeFileSync(docPath, replaceResults(readFileSync(docPath, 'utf8'), markdown));
    process.stderr.write(`results section of ${docPath} rewritten\n`);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`bench: ${(err as Error).message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
