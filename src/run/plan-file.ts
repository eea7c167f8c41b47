import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FileError } from '../logging/failure.ts';
import type { SourceKind } from '../model/idp.ts';
import { OPERATION_KINDS, PLAN_SCHEMA_VERSION, type Plan } from '../model/plan.ts';

/**
 * The file `plan --out` writes and `apply` reads: a plan as a value, with what it was made from.
 * The digest covers everything else in the file, so an edit by hand (or a truncated copy) is
 * refused rather than applied. It is a check, not a signature: what keeps a plan honest is that
 * `apply` applies an operation only when the fresh plan holds it unchanged (reconcile/review.ts),
 * so even a forged file can at most leave changes out, never add one.
 */

export const PLAN_FILE_FORMAT = 'docker-idp-sync/plan';
export const PLAN_FILE_VERSION = 1;

export interface PlanFile {
  readonly format: typeof PLAN_FILE_FORMAT;
  readonly formatVersion: typeof PLAN_FILE_VERSION;
  readonly toolVersion: string;
  readonly createdAt: string;
  /** sourceIdentity(config): the IdP tenant and app the plan reads; no secret. */
  readonly source: { readonly kind: SourceKind; readonly identity: string };
  /** The state file the plan was made against, for the reader; not checked. */
  readonly stateFile?: string;
  /** `sha256:` and the hex digest of canonicalJson of every other field. */
  readonly digest: string;
  readonly plan: Plan;
}

export interface PlanFileMeta {
  readonly toolVersion: string;
  readonly createdAt: string;
  readonly sourceIdentity: string;
  readonly stateFile?: string;
}

/** A plan file that cannot be applied: says which file, why, and what to do. */
export class PlanFileError extends FileError {
  constructor(path: string, reason: string, fix: string) {
    super('apply the plan', path, new Error(reason), fix);
    this.name = 'PlanFileError';
  }
}

const REPLAN = 'run `plan --out FILE` again with this configuration, review the new file, and apply that';

export function makePlanFile(plan: Plan, meta: PlanFileMeta): PlanFile {
  const body = {
    format: PLAN_FILE_FORMAT,
    formatVersion: PLAN_FILE_VERSION,
    toolVersion: meta.toolVersion,
    createdAt: meta.createdAt,
    source: { kind: plan.source, identity: meta.sourceIdentity },
    ...(meta.stateFile !== undefined ? { stateFile: meta.stateFile } : {}),
  } as const;
  return { ...body, digest: planDigest({ ...body, plan }), plan };
}

export function serializePlanFile(file: PlanFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** The digest of a plan file's content: every field but `digest` itself. */
export function planDigest(content: Omit<PlanFile, 'digest'> | Record<string, unknown>): string {
  const { digest: _ignored, ...rest } = content as Record<string, unknown>;
  return `sha256:${createHash('sha256').update(canonicalJson(rest)).digest('hex')}`;
}

/**
 * JSON with object keys sorted at every level and no spacing: the same value always gives the
 * same text, whatever order its keys were built in or how the file was indented.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** Reads a plan file and checks it is one this version applies, unchanged since it was written. */
export function readPlanFile(path: string): PlanFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new FileError('read the plan', path, err, 'give the path of a file written by `plan --out FILE`');
  }
  return parsePlanFile(text, path);
}

export function parsePlanFile(text: string, path: string): PlanFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new PlanFileError(path, 'it is not JSON, so not a plan file written by `plan --out`', REPLAN);
  }
  if (!isRecord(doc) || doc.format !== PLAN_FILE_FORMAT) {
    throw new PlanFileError(path, `it is not a docker-idp-sync plan file (its "format" is not "${PLAN_FILE_FORMAT}")`, 'give the path of a file written by `plan --out FILE`');
  }
  if (doc.formatVersion !== PLAN_FILE_VERSION) {
    const newer = typeof doc.formatVersion === 'number' && doc.formatVersion > PLAN_FILE_VERSION;
    throw new PlanFileError(
      path,
      newer
        ? `it was written by a newer docker-idp-sync (plan format version ${doc.formatVersion}; this version reads ${PLAN_FILE_VERSION})`
        : `its plan format version ${JSON.stringify(doc.formatVersion)} is not one this version reads (${PLAN_FILE_VERSION})`,
      newer ? 'apply it with the version that wrote it, or run `plan --out FILE` again with this one' : REPLAN,
    );
  }
  if (typeof doc.digest !== 'string' || planDigest(doc) !== doc.digest) {
    throw new PlanFileError(path, 'its content does not match its digest: it was changed after `plan` wrote it, and a plan is applied only exactly as written and reviewed', `${REPLAN}; never edit a plan file by hand`);
  }
  const problem = shapeProblem(doc);
  if (problem) throw new PlanFileError(path, `it is not a plan this version can apply: ${problem}`, REPLAN);
  return doc as unknown as PlanFile;
}

/** A plan made for another IdP tenant or app would match nobody here: refused before anything is read. */
export function checkPlanSource(file: PlanFile, identity: string, path: string): void {
  if (file.source.identity !== identity) {
    throw new PlanFileError(
      path,
      `it was made for "${file.source.identity}", but this configuration reads "${identity}"`,
      'apply it with the configuration it was made with, or run `plan --out FILE` with this one and review that',
    );
  }
}

/** Enough of the shape that reviewing the plan cannot trip over it; the digest vouches for the rest. */
function shapeProblem(doc: Record<string, unknown>): string | null {
  const source = doc.source;
  if (!isRecord(source) || (source.kind !== 'okta' && source.kind !== 'entra') || typeof source.identity !== 'string') return '"source" must name the IdP kind and identity';
  const plan = doc.plan;
  if (!isRecord(plan)) return '"plan" is missing';
  if (plan.schemaVersion !== PLAN_SCHEMA_VERSION) return `plan schema version ${JSON.stringify(plan.schemaVersion)} is not ${PLAN_SCHEMA_VERSION}`;
  if (plan.source !== source.kind) return `the plan reads ${JSON.stringify(plan.source)} but the file says ${source.kind}`;
  if (!Array.isArray(plan.operations) || !Array.isArray(plan.memberships) || !Array.isArray(plan.findings)) return 'operations, memberships and findings must be lists';
  if (!isRecord(plan.safety) || typeof plan.safety.tripped !== 'boolean' || !isRecord(plan.counts)) return 'the safety verdict or the counts are missing';
  const kinds = new Set<unknown>(OPERATION_KINDS);
  const ids = new Set<string>();
  for (const op of plan.operations) {
    if (!isRecord(op) || typeof op.id !== 'string' || !kinds.has(op.kind)) return 'an operation has no id or an unknown kind';
    if (ids.has(op.id)) return `operation ${op.id} appears twice`;
    ids.add(op.id);
  }
  return null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
