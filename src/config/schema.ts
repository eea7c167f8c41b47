import cron from 'node-cron';
import { z } from 'zod';
import { CONFIG_KEYS, type ConfigKey } from './keys.ts';

/**
 * The zod schema, built from the key table so every key is validated the same way whether it came
 * from the environment (always a string) or from YAML (typed). Values are flat, by YAML path.
 */

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** appRole | none | extensionAttribute1..15 | extension:<short name> | extension_<32 hex>_<name>. */
export const ATTRIBUTE_SOURCE = /^(appRole|none|extensionAttribute([1-9]|1[0-5])|extension:[A-Za-z][A-Za-z0-9_]*|extension_[0-9a-fA-F]{32}_[A-Za-z0-9_]+)$/;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.has(hostname) || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/**
 * One rule for every URL key: the first thing wrong with a base URL, or null. A base URL is where a
 * credential is sent, so it must be plain: no user:password@ (it would be printed in logs and
 * reports), no query or fragment (the clients add their own; an extra one is silently dropped or
 * sent along to every request, and the reference gives no meaning to either), and no control
 * character. Encoded ones (%0a, %0d, %00) are refused too: no base URL needs them, and a proxy or
 * server that decodes the path would see a line break in the request line.
 */
export function urlProblem(value: string, originOnly: boolean): string | null {
  if (/[\u0000-\u001f\u007f]/.test(value) || /%(?:[01][0-9a-f]|7f)/i.test(value)) return 'contains a control character (a line break, tab or NUL, raw or %-encoded)';
  if (!URL.canParse(value)) return 'is not a valid URL';
  const u = new URL(value);
  if (!['https:', 'http:'].includes(u.protocol)) return 'must be an https:// URL';
  if (u.protocol !== 'https:' && !isLoopbackHost(u.hostname)) return 'uses plain http:// to a non-loopback host; tokens would cross the network unencrypted';
  if (u.username !== '' || u.password !== '') return 'contains a user name or password; put credentials in their own settings';
  // The parser drops an empty "?" or "#", so the raw text decides.
  const query = u.search !== '' || value.includes('?');
  const fragment = u.hash !== '' || value.includes('#');
  if (originOnly && (query || fragment || !['', '/'].includes(u.pathname))) return 'must be just the scheme and host (and port), without a path, query or fragment';
  if (query) return 'has a query (?…); a base URL takes none, the tool adds its own parameters';
  if (fragment) return 'has a fragment (#…)';
  return null;
}

/**
 * A webhook URL, which is a secret: like a base URL, but a query is allowed, since some carry
 * their signature there (Teams workflows: ?sig=…). Plain http only to loopback.
 */
export function webhookUrlProblem(value: string): string | null {
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'contains a control character';
  if (!URL.canParse(value)) return 'is not a valid URL';
  const u = new URL(value);
  if (!['https:', 'http:'].includes(u.protocol)) return 'must be an https:// URL';
  if (u.protocol !== 'https:' && !isLoopbackHost(u.hostname)) return 'uses plain http:// to a non-loopback host; the alert and the URL\'s token would cross the network unencrypted';
  if (u.username !== '' || u.password !== '') return 'contains a user name or password';
  if (u.hash !== '' || value.includes('#')) return 'has a fragment (#…)';
  return null;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "15m", "1h30m", "2d", or a plain number of seconds → milliseconds; null when it is none of those. */
export function parseDuration(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.round(v * 1000) : null;
  if (typeof v !== 'string') return null;
  const text = v.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(text)) return null;
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) ms += Number(n) * (DURATION_UNITS[unit as string] as number);
  return Math.round(ms);
}

/** Milliseconds as the settings spell them: "24h", "1h30m", "90s", "0s". */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const size = DURATION_UNITS[unit] as number;
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

/**
 * A secret with a control character in it. Single-line secrets become header values or form
 * fields, where a CR or LF would split the request; PEM keys may hold line breaks but nothing else.
 */
export function secretProblem(value: string, key: ConfigKey): string | null {
  if (key.multiline) return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(value) ? 'contains a control character other than a line break' : null;
  return /[\u0000-\u001f\u007f]/.test(value) ? 'contains a line break or another control character; this secret must be a single line' : null;
}

/** Plain decimal only: Number() would also take "0x10" and "1e3", which nobody means in a config. */
function toNumber(v: unknown): unknown {
  if (typeof v === 'string' && /^[+-]?\d+(\.\d+)?$/.test(v.trim())) return Number(v.trim());
  return v;
}

function toBoolean(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(s)) return true;
  if (['false', '0', 'no', 'off'].includes(s)) return false;
  return v;
}

function toList(v: unknown): unknown {
  if (typeof v === 'string') return v.split(/[\s,]+/).filter(Boolean);
  return v;
}

/** A raw value as a list, for the cross-key rules, which run before (and whatever) zod says of it. */
function listOf(v: unknown): unknown[] {
  const list = toList(v);
  return Array.isArray(list) ? list : [list];
}

function trimString(v: unknown): unknown {
  return typeof v === 'string' ? v.trim() : v;
}

function issue(ctx: z.RefinementCtx, problem: string | null): void {
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
}

function keySchema(key: ConfigKey): z.ZodType {
  switch (key.type) {
    case 'string':
    case 'path':
      return z.preprocess(trimString, z.string({ error: 'must be text' }).min(1, { error: 'must not be empty' }));
    case 'secret':
      // Secret files usually end with a newline; tokens never contain surrounding whitespace.
      return z.preprocess(
        trimString,
        z
          .string({ error: 'must be text' })
          .min(1, { error: 'must not be empty' })
          .superRefine((s, ctx) => issue(ctx, secretProblem(s, key) ?? (key.secretUrl ? webhookUrlProblem(s) : null))),
      );
    case 'duration': {
      const min = (key.min ?? 0) * 1000;
      return z.preprocess(
        (v) => parseDuration(v) ?? v,
        z
          .number({ error: 'must be a duration such as 90s, 15m, 2h or 1d' })
          .min(min, { error: `must be at least ${key.min ?? 0} s` }),
      );
    }
    case 'cron':
      return z.preprocess(
        trimString,
        z.string({ error: 'must be a cron expression' }).superRefine((s, ctx) => {
          const v = cron.validateDetailed(s);
          const first = v.errors[0];
          if (!v.valid) issue(ctx, `is not a cron expression${first ? `: ${first.message}` : ''}`);
        }),
      );
    case 'url':
      return z.preprocess(
        trimString,
        z.string({ error: 'must be a URL' }).superRefine((s, ctx) => issue(ctx, urlProblem(s, key.originOnly === true))),
      );
    case 'int': {
      let s = z.int({ error: 'must be a whole number' });
      if (key.min !== undefined) s = s.min(key.min, { error: `must be at least ${key.min}` });
      if (key.max !== undefined) s = s.max(key.max, { error: `must be at most ${key.max}` });
      return z.preprocess(toNumber, s);
    }
    case 'number': {
      let s = z.number({ error: 'must be a number' });
      if (key.min !== undefined) s = s.min(key.min, { error: `must be at least ${key.min}` });
      if (key.max !== undefined) s = s.max(key.max, { error: `must be at most ${key.max}` });
      return z.preprocess(toNumber, s);
    }
    case 'boolean':
      return z.preprocess(toBoolean, z.boolean({ error: 'must be true or false' }));
    case 'enum':
      // Case-insensitive on input, canonical on output (userprincipalname → userPrincipalName).
      return z.preprocess(
        (v) => (typeof v === 'string' ? ((key.values ?? []).find((x) => x.toLowerCase() === v.trim().toLowerCase()) ?? v) : v),
        z.enum(key.values as [string, ...string[]], { error: `must be one of: ${(key.values ?? []).join(', ')}` }),
      );
    case 'guid':
      return z.preprocess(trimString, z.string({ error: 'must be a GUID' }).regex(GUID, { error: 'must be a GUID like 11111111-2222-3333-4444-555555555555' }));
    case 'tenant':
      // @azure/identity accepts tenant ids matching this (src util/tenantIdUtils.js), GUIDs and domains alike.
      return z.preprocess(trimString, z.string({ error: 'must be a tenant id' }).regex(/^[0-9a-zA-Z.-]+$/, { error: 'must be the tenant GUID or a verified domain such as contoso.onmicrosoft.com' }));
    case 'attribute-source':
      return z.preprocess(
        trimString,
        z.string({ error: 'must be an attribute source' }).regex(ATTRIBUTE_SOURCE, {
          error: 'must be appRole, none, extensionAttribute1 … extensionAttribute15, or extension:<name>',
        }),
      );
    case 'list': {
      const item = key.listValues
        ? z.preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(key.listValues as [string, ...string[]], { error: `may hold only: ${key.listValues.join(', ')}` }))
        : key.itemPattern
          ? z.string().regex(key.itemPattern.regex, { error: key.itemPattern.message })
          : z.string().min(1);
      return z.preprocess(toList, z.array(item).min(1, { error: 'must list at least one value' }));
    }
  }
}

/** Keys required for every source, or for the chosen one (checked in the refinement below). */
export const ALWAYS_REQUIRED = ['source', 'docker.scimBaseUrl', 'docker.scimToken', 'docker.defaultOrg'];
export const OKTA_REQUIRED = ['okta.orgUrl', 'okta.appId'];
export const ENTRA_REQUIRED = ['entra.tenantId', 'entra.clientId', 'entra.appId'];

export function flatSchema() {
  const shape: Record<string, z.ZodType> = {};
  for (const key of CONFIG_KEYS) shape[key.path] = keySchema(key).optional();
  return z.object(shape);
}

export interface CrossIssue {
  path: string;
  message: string;
}

/**
 * Rules that span keys. Run on the raw values, not after zod, because zod skips refinements once a
 * field has failed and the admin should see every problem in one go.
 */
export function crossCheck(v: Record<string, unknown>): CrossIssue[] {
  const issues: CrossIssue[] = [];
  const missing = (path: string) => {
    if (v[path] === undefined) issues.push({ path, message: 'is required' });
  };
  ALWAYS_REQUIRED.forEach(missing);
  const source = typeof v['source'] === 'string' ? v['source'].trim().toLowerCase() : v['source'];
  if (source === 'okta') {
    OKTA_REQUIRED.forEach(missing);
    const token = v['okta.apiToken'] !== undefined;
    const jwt = v['okta.clientId'] !== undefined || v['okta.privateKey'] !== undefined;
    if (token && jwt) {
      issues.push({ path: 'okta.apiToken', message: 'is set together with OKTA_CLIENT_ID/OKTA_PRIVATE_KEY; choose one way to authenticate' });
    } else if (!token && !jwt) {
      issues.push({ path: 'okta.apiToken', message: 'is required (or OKTA_CLIENT_ID + OKTA_PRIVATE_KEY for an OAuth service app)' });
    } else if (jwt) {
      if (v['okta.clientId'] === undefined) issues.push({ path: 'okta.clientId', message: 'is required with OKTA_PRIVATE_KEY' });
      if (v['okta.privateKey'] === undefined) issues.push({ path: 'okta.privateKey', message: 'is required with OKTA_CLIENT_ID' });
      else if (!looksLikePrivateKey(String(v['okta.privateKey']))) {
        issues.push({ path: 'okta.privateKey', message: 'is neither a PEM private key nor a JWK with a private part ("d")' });
      } else if (v['okta.keyId'] === undefined && !jwkHasKid(String(v['okta.privateKey']))) {
        issues.push({ path: 'okta.keyId', message: 'is required when the private key is PEM (a JWK may carry its own kid)' });
      }
    }
  }
  if (source === 'okta') issues.push(...groupRuleIssues(v));
  const orgs = v['docker.orgs'];
  const defaultOrg = v['docker.defaultOrg'];
  if (orgs !== undefined && typeof defaultOrg === 'string') {
    const list = listOf(orgs).map((o) => String(o).trim().toLowerCase());
    if (!list.includes(defaultOrg.trim().toLowerCase())) issues.push({ path: 'docker.orgs', message: `does not include DOCKER_DEFAULT_ORG ${defaultOrg.trim()}; users without dockerOrg would all be out of scope` });
  }
  if (source === 'entra') {
    ENTRA_REQUIRED.forEach(missing);
    const secret = v['entra.clientSecret'] !== undefined;
    const cert = v['entra.clientCertificateFile'] !== undefined;
    if (secret && cert) issues.push({ path: 'entra.clientSecret', message: 'is set together with ENTRA_CLIENT_CERTIFICATE_FILE; choose one credential' });
    else if (!secret && !cert) issues.push({ path: 'entra.clientSecret', message: 'is required (or ENTRA_CLIENT_CERTIFICATE_FILE for a certificate credential)' });
    const role = v['entra.roleSource'];
    for (const path of ['entra.orgSource', 'entra.teamSource']) {
      if (v[path] === 'appRole') issues.push({ path, message: 'cannot be appRole: a user has one app role, and it carries dockerRole' });
    }
    if (typeof role === 'string' && role !== 'appRole' && role === v['entra.orgSource'] && role !== 'none') {
      issues.push({ path: 'entra.orgSource', message: 'is the same attribute as ENTRA_ROLE_SOURCE' });
    }
  }
  return issues;
}

/** An OKTA_GROUP_RULE as written: startsWith:<text> or contains:<text>, split at the first colon. */
export function parseGroupRule(text: string): { op: 'startsWith' | 'contains'; value: string } | null {
  const m = /^(startsWith|contains):(.+)$/i.exec(text.trim());
  if (!m) return null;
  return { op: (m[1] as string).toLowerCase() === 'startswith' ? 'startsWith' : 'contains', value: m[2] as string };
}

function groupRuleIssues(v: Record<string, unknown>): CrossIssue[] {
  const raw = v['okta.teamGroups'] ?? 'assigned';
  const sources = listOf(raw).map((x) => String(x).toLowerCase());
  const rule = v['okta.groupRule'];
  if (!sources.includes('rule')) return rule === undefined ? [] : [{ path: 'okta.groupRule', message: 'is set but OKTA_TEAM_GROUPS does not include rule, so it would be ignored' }];
  if (rule === undefined) return [{ path: 'okta.groupRule', message: 'is required when OKTA_TEAM_GROUPS includes rule (e.g. startsWith:acme:)' }];
  const text = String(rule);
  // The value goes into an Okta search expression between double quotes; these cannot be escaped safely there.
  if (/["\\\u0000-\u001f\u007f]/.test(text)) return [{ path: 'okta.groupRule', message: 'must not contain a double quote, backslash or control character' }];
  if (text.length > 100) return [{ path: 'okta.groupRule', message: 'must be at most 100 characters' }];
  if (!parseGroupRule(text)) return [{ path: 'okta.groupRule', message: "must be startsWith:<text> or contains:<text>, like Okta's Push Groups rule (e.g. startsWith:acme:)" }];
  return [];
}

function looksLikePrivateKey(s: string): boolean {
  if (/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(s)) return true;
  try {
    const j = JSON.parse(s) as { d?: unknown };
    return typeof j.d === 'string';
  } catch {
    return false;
  }
}

function jwkHasKid(s: string): boolean {
  try {
    return typeof (JSON.parse(s) as { kid?: unknown }).kid === 'string';
  } catch {
    return false;
  }
}
