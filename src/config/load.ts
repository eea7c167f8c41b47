import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, type ConfigProblem } from './errors.ts';
import { CONFIG_KEYS, keyByPath, type ConfigKey } from './keys.ts';
import { crossCheck, flatSchema, parseGroupRule, secretProblem } from './schema.ts';
import type { AttributeSourceConfig, Config, EntraConfig, NotifyEvent, OktaTeamGroupSource, StateConfig, StateOnlyConfig, SyncConfig } from './types.ts';

/**
 * Loads the configuration once at start: YAML file, then environment variables (which win), then
 * `*_FILE` secrets, then defaults; validates everything and reports every problem at once, each
 * naming the key, what is wrong with its value and how to fix it.
 */

export interface LoadOptions {
  file?: string;
  env?: Record<string, string | undefined>;
  /** Values from command-line flags, by YAML path; they win over everything. */
  overrides?: Record<string, unknown>;
  readFile?: (path: string) => string;
}

type Origin = Config['origins'][string];

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const readFile = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const { raw, origins, secrets, problems } = gather(opts, () => true);

  const parsed = flatSchema().safeParse(raw);
  const issues = [
    ...(parsed.success ? [] : parsed.error.issues.map((i) => ({ path: String(i.path[0] ?? ''), message: i.message }))),
    ...crossCheck(raw),
  ];
  addIssues(problems, issues, raw);
  if (raw['source'] === 'entra' && typeof raw['entra.clientCertificateFile'] === 'string') {
    const problem = checkCertificateFile(String(raw['entra.clientCertificateFile']), readFile, secrets);
    if (problem) problems.push({ env: 'ENTRA_CLIENT_CERTIFICATE_FILE', path: 'entra.clientCertificateFile', problem, fix: fixFor(keyByPath('entra.clientCertificateFile'), 'file') });
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return { ...toConfig(parsed.data as Record<string, unknown>, secrets, origins), warnings: unknownEnvWarnings(env) };
}

/** The keys a command that only reads the state file needs: where the file is, and how to log. */
const inStateScope = (path: string) => path.startsWith('state.') || path.startsWith('log.');

/**
 * The configuration of `status` and `report`, which only read the state file: an admin checking
 * what the last run did (or a read-only replica of the volume) need not hold the IdP and Docker
 * credentials. Only `state.*` and `log.*` are validated, from the same YAML, environment and
 * flags; every secret that is set is still collected, so output is scrubbed of it all the same.
 * A secret file that cannot be read here is not this command's problem: `sync` reports it.
 */
export function loadStateConfig(opts: LoadOptions = {}): StateOnlyConfig {
  const env = opts.env ?? process.env;
  const readFile = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const { raw, origins, secrets, problems } = gather(opts, inStateScope);
  const schema = z.object(Object.fromEntries(Object.entries(flatSchema().shape).filter(([path]) => inStateScope(path))));
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(raw).filter(([path]) => inStateScope(path))));
  addIssues(problems, parsed.success ? [] : parsed.error.issues.map((i) => ({ path: String(i.path[0] ?? ''), message: i.message })), raw);
  if (typeof raw['entra.clientCertificateFile'] === 'string') checkCertificateFile(String(raw['entra.clientCertificateFile']), readFile, secrets);
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  const v = parsed.data as Record<string, unknown>;
  return {
    state: stateConfig(v),
    log: logConfig(v),
    secrets,
    origins: Object.fromEntries(Object.entries(origins).filter(([path]) => inStateScope(path))),
    warnings: unknownEnvWarnings(env),
  };
}

interface Gathered {
  raw: Record<string, unknown>;
  origins: Record<string, Origin>;
  secrets: string[];
  problems: ConfigProblem[];
}

/**
 * Every key's value and where it came from (flags, environment, *_FILE, YAML, default), and every
 * secret among them. Problems are kept only for the keys `inScope` says the caller validates.
 */
function gather(opts: LoadOptions, inScope: (path: string) => boolean): Gathered {
  const env = opts.env ?? process.env;
  const readFile = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const problems: ConfigProblem[] = [];
  const yaml = opts.file ? readYaml(opts.file, readFile) : {};

  const flatYaml = flatten(yaml);
  for (const path of Object.keys(flatYaml)) {
    if (!inScope(path)) continue;
    const base = path.endsWith('File') ? path.slice(0, -'File'.length) : path;
    const key = keyByPath(path) ?? (base !== path && keyByPath(base)?.type === 'secret' ? keyByPath(base) : undefined);
    if (!key) {
      const guess = closestKey(path);
      problems.push({
        env: path,
        path,
        problem: `is not a known key in ${opts.file}`,
        fix: guess ? `did you mean ${guess.path}? Otherwise remove it` : 'remove it; see config/docker-idp-sync.example.yaml for every key',
      });
    }
  }

  const raw: Record<string, unknown> = {};
  const origins: Record<string, Origin> = {};
  const secrets: string[] = [];
  for (const key of CONFIG_KEYS) {
    const keyProblems: ConfigProblem[] = [];
    const found = pick(key, env, flatYaml, readFile, keyProblems);
    if (inScope(key.path)) problems.push(...keyProblems);
    const override = opts.overrides?.[key.path];
    if (override !== undefined) {
      raw[key.path] = override;
      origins[key.path] = 'env';
    } else if (found) {
      raw[key.path] = found.value;
      origins[key.path] = found.origin;
    } else if (key.default !== undefined) {
      raw[key.path] = key.default;
      origins[key.path] = 'default';
    }
    if (key.type === 'secret' && typeof raw[key.path] === 'string') secrets.push(String(raw[key.path]).trim());
  }
  return { raw, origins, secrets, problems };
}

/** Schema and cross-key issues as problems, each naming its key and the fix. */
function addIssues(problems: ConfigProblem[], issues: readonly { path: string; message: string }[], raw: Record<string, unknown>): void {
  // A key whose *_FILE could not be used already has its problem; "is required" would only repeat it.
  const failed = new Set(problems.map((p) => p.path));
  for (const { path, message } of issues) {
    if (failed.has(path) && message.startsWith('is required')) continue;
    const key = keyByPath(path);
    problems.push({ env: key?.env ?? path, path, problem: describeValue(key, raw[path], message), fix: fixFor(key, message) });
  }
}

/**
 * Variables that look like ours (one of our prefixes, a near miss of a real name) but are not: a
 * typo in a Kubernetes manifest would otherwise be ignored in silence while the default applies.
 * Only near misses are named, so the environment's other variables (DOCKER_HOST, HTTP_PROXY…) are
 * left alone. A warning, not an error: the configuration that was meant may still be complete.
 */
export function unknownEnvWarnings(env: Record<string, string | undefined>): string[] {
  const known = new Set(['DOCKER_IDP_SYNC_CONFIG', ...CONFIG_KEYS.flatMap((k) => (k.type === 'secret' ? [k.env, `${k.env}_FILE`] : [k.env]))]);
  const prefixes = new Set(CONFIG_KEYS.map((k) => k.env.split('_')[0] as string));
  const out: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (known.has(name) || !prefixes.has(name.split('_')[0] as string)) continue;
    let best: string | null = null;
    let bestD = Math.min(3, Math.floor(name.length / 4));
    for (const k of known) {
      const d = distance(name, k);
      if (d > 0 && d <= bestD) {
        bestD = d;
        best = k;
      }
    }
    if (best) out.push(`${name} is not a setting of docker-idp-sync and is ignored; did you mean ${best}?`);
  }
  return out;
}

/**
 * The certificate credential reads its PEM file itself; reading it here too turns "file missing" or
 * "no private key in it" into a configuration error at start, and puts the key on the list of
 * secrets scrubbed from every output.
 */
function checkCertificateFile(path: string, readFile: (p: string) => string, secrets: string[]): string | null {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return `names the file ${path}, which ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`}`;
  }
  const key = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/.exec(text);
  if (key) secrets.push(key[0]);
  if (!key) return `names ${path}, which holds no private key (the file must hold the private key and the certificate, PEM)`;
  if (!/-----BEGIN CERTIFICATE-----/.test(text)) return `names ${path}, which holds no certificate (the file must hold the private key and the certificate, PEM)`;
  return null;
}

function readYaml(file: string, readFile: (p: string) => string): Record<string, unknown> {
  let text: string;
  try {
    text = readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError([
      { env: '--config', path: file, problem: code === 'ENOENT' ? 'file not found' : `cannot be read (${code ?? String(err)})`, fix: 'pass the path of your YAML file, or configure with environment variables only' },
    ]);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError([{ env: '--config', path: file, problem: `is not valid YAML: ${(err as Error).message.split('\n')[0]}`, fix: 'check indentation and quoting near the line named' }]);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError([{ env: '--config', path: file, problem: 'must be a mapping of keys to values', fix: 'see config/docker-idp-sync.example.yaml' }]);
  }
  return doc as Record<string, unknown>;
}

/** A nested object as dotted paths (okta.orgUrl), the way keys are named. */
export function flatten(obj: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, flatten(v as Record<string, unknown>, path));
    else out[path] = v;
  }
  return out;
}

function pick(
  key: ConfigKey,
  env: Record<string, string | undefined>,
  yaml: Record<string, unknown>,
  readFile: (p: string) => string,
  problems: ConfigProblem[],
): { value: unknown; origin: Origin } | null {
  // An empty variable is "unset": compose files and Helm charts often pass VAR= for optional keys.
  const fromEnv = env[key.env];
  if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, origin: 'env' };
  if (key.type === 'secret') {
    const file = env[`${key.env}_FILE`];
    if (file) {
      const v = readSecretFile(file, `${key.env}_FILE`, key, readFile, problems);
      return v === null ? null : { value: v, origin: 'env-file' };
    }
  }
  const fromYaml = yaml[key.path];
  if (fromYaml !== undefined && fromYaml !== null && fromYaml !== '') return { value: fromYaml, origin: 'file' };
  if (key.type === 'secret') {
    const file = yaml[`${key.path}File`];
    if (typeof file === 'string' && file) {
      const v = readSecretFile(file, `${key.path}File`, key, readFile, problems);
      return v === null ? null : { value: v, origin: 'file-secret' };
    }
  }
  return null;
}

function readSecretFile(file: string, via: string, key: ConfigKey, readFile: (p: string) => string, problems: ConfigProblem[]): string | null {
  let text: string;
  try {
    text = readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    problems.push({
      env: via,
      path: key.path,
      problem: `names the file ${file}, which ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`}`,
      fix: `mount the secret at that path or point ${via} at the right file`,
    });
    return null;
  }
  // Editors and `echo` end a file with one newline; anything past that is a second line, which
  // in a header value would split the request. Only the path is named, never the content.
  const body = text.replace(/\r?\n$/, '');
  const problem = !key.multiline && /[\r\n]/.test(body) ? 'holds more than one line; this secret must be a single line (one trailing newline is fine)' : secretProblem(body, key)?.replace(/^contains/, 'holds');
  if (problem) {
    problems.push({ env: via, path: key.path, problem: `names the file ${file}, which ${problem}`, fix: `write only the value to the file, e.g. printf '%s' "$VALUE" > ${file}` });
    return null;
  }
  return body.trim();
}

function describeValue(key: ConfigKey | undefined, value: unknown, message: string): string {
  if (value === undefined || message === 'is required') return message;
  if (key?.type === 'secret') return message; // never echo a secret back
  if (key?.type === 'url' && typeof value === 'string') return `${message} (got ${JSON.stringify(echoUrl(value))})`;
  return `${message} (got ${JSON.stringify(value)})`;
}

/** A URL as it may be printed: a user:password@ part, a query or a fragment can hold a credential. */
function echoUrl(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1[hidden]@').replace(/\?[^#]*/, '?[hidden]').replace(/#.*/, '#[hidden]');
}

function fixFor(key: ConfigKey | undefined, message: string): string {
  if (!key) return 'see config/docker-idp-sync.example.yaml';
  if (message.includes('plain http')) return `use the https:// address; http is accepted only for loopback emulators (127.0.0.1, localhost, ::1)`;
  if (message.includes('without a path')) return `give only the origin, e.g. ${key.example ?? 'https://host'}`;
  if (message.includes('user name or password')) return `remove the user:password@ part from ${key.env}`;
  if (message.includes('control character') && key.type === 'url') return `retype ${key.env}: it holds a line break, tab or %-encoded control character, often pasted along with the URL`;
  if (message.includes('control character') && key.multiline) return `set ${key.env} to the key exactly as exported (PEM or JWK JSON): printable text and line breaks only`;
  if (message.includes('control character')) return `set ${key.env} to the value alone, on one line (check how it was pasted or templated)`;
  if (message.includes('has a query')) return `remove the ?… part from ${key.env}; give the base URL exactly as the admin console shows it, e.g. ${key.example ?? 'https://host/path'}`;
  if (message.includes('has a fragment')) return `remove the #… part from ${key.env}`;
  if (key.path === 'entra.clientSecret' && message.includes('choose one')) return 'unset ENTRA_CLIENT_SECRET or ENTRA_CLIENT_CERTIFICATE_FILE';
  if (key.path === 'entra.clientCertificateFile' && message.includes('file')) return 'export the certificate with its private key as one PEM file (openssl pkcs12 -in cert.pfx -out cert.pem -nodes) and point ENTRA_CLIENT_CERTIFICATE_FILE at it';
  if (key.path === 'okta.apiToken' && message.includes('choose one')) return 'unset OKTA_API_TOKEN, or unset OKTA_CLIENT_ID and OKTA_PRIVATE_KEY';
  const where = `set ${key.env}${key.type === 'secret' ? ` (or ${key.env}_FILE)` : ''} or ${key.path} in the config file`;
  const example = key.example ? `, e.g. ${key.example}` : key.values ? `: ${key.values.join(' | ')}` : '';
  return `${where}${example}. ${key.description}`;
}

function closestKey(path: string): ConfigKey | undefined {
  const lower = path.toLowerCase();
  const exact = CONFIG_KEYS.find((k) => k.path.toLowerCase() === lower);
  if (exact) return exact;
  let best: ConfigKey | undefined;
  let bestD = 4;
  for (const k of CONFIG_KEYS) {
    const d = distance(lower, k.path.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (dp[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = dp[i] as number[];
      const prev = dp[i - 1] as number[];
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return (dp[a.length] as number[])[b.length] as number;
}

/** Sign-in authority and Graph root of each cloud (reference entra-graph.md §6). */
const CLOUDS: Record<EntraConfig['cloud'], { authority: string; graph: string }> = {
  public: { authority: 'https://login.microsoftonline.com', graph: 'https://graph.microsoft.com' },
  usgov: { authority: 'https://login.microsoftonline.us', graph: 'https://graph.microsoft.us' },
  'usgov-dod': { authority: 'https://login.microsoftonline.us', graph: 'https://dod-graph.microsoft.us' },
  china: { authority: 'https://login.chinacloudapi.cn', graph: 'https://microsoftgraph.chinacloudapi.cn' },
};

function entraConfig(v: Record<string, unknown>): EntraConfig {
  const s = (p: string) => v[p] as string;
  const cloud = CLOUDS[s('entra.cloud') as EntraConfig['cloud']];
  const extensionOwner = ((v['entra.extensionAppId'] as string | undefined) ?? s('entra.appId')).replace(/-/g, '').toLowerCase();
  const source = (p: string): AttributeSourceConfig => {
    const text = s(p);
    if (text === 'none') return { kind: 'none' };
    if (text === 'appRole') return { kind: 'appRole' };
    const ea = /^extensionAttribute(\d+)$/.exec(text);
    if (ea) return { kind: 'extensionAttribute', index: Number(ea[1]) };
    // extension:dockerTeam names a directory extension by its short name; its Graph name embeds the
    // owner app's appId without dashes. A full extension_<appId>_<name> is taken as it is.
    if (text.startsWith('extension:')) return { kind: 'extension', property: `extension_${extensionOwner}_${text.slice('extension:'.length)}` };
    return { kind: 'extension', property: text };
  };
  return {
    tenantId: s('entra.tenantId'),
    clientId: s('entra.clientId').toLowerCase(),
    credential: v['entra.clientSecret'] !== undefined ? { kind: 'secret', secret: s('entra.clientSecret') } : { kind: 'certificate', certificatePath: s('entra.clientCertificateFile') },
    appId: s('entra.appId').toLowerCase(),
    cloud: s('entra.cloud') as EntraConfig['cloud'],
    authorityHost: new URL((v['entra.authorityHost'] as string | undefined) ?? cloud.authority).origin,
    graphBaseUrl: new URL((v['entra.graphBaseUrl'] as string | undefined) ?? cloud.graph).origin,
    // The scope names the cloud's Graph, even when GRAPH_BASE_URL points elsewhere (a proxy, the emulator).
    graphScope: `${cloud.graph}/.default`,
    attributes: { dockerRole: source('entra.roleSource'), dockerOrg: source('entra.orgSource'), dockerTeam: source('entra.teamSource') },
    userNameSource: s('entra.userNameSource') as EntraConfig['userNameSource'],
    groupMembership: s('entra.groupMembership') as EntraConfig['groupMembership'],
    roleConflict: s('entra.roleConflict') as EntraConfig['roleConflict'],
    emailSource: s('entra.emailSource') as EntraConfig['emailSource'],
  };
}

function stateConfig(v: Record<string, unknown>): StateConfig {
  return { db: v['state.db'] as string, retainRuns: v['state.retainRuns'] as number, retainDays: v['state.retainDays'] as number };
}

function logConfig(v: Record<string, unknown>): Config['log'] {
  return { level: v['log.level'] as string, format: v['log.format'] as Config['log']['format'] };
}

function lowerList(value: unknown): readonly string[] | null {
  return value === undefined ? null : [...new Set((value as string[]).map((x) => x.toLowerCase()))];
}

function toConfig(v: Record<string, unknown>, secrets: string[], origins: Record<string, Origin>): Config {
  const s = (p: string) => v[p] as string;
  const opt = (p: string) => (v[p] === undefined ? undefined : (v[p] as string));
  const source = s('source') as Config['source'];
  const okta =
    source === 'okta'
      ? {
          // The origin: the state file is bound to it, so https://Acme.okta.com/ and https://acme.okta.com are one org.
          orgUrl: new URL(s('okta.orgUrl')).origin,
          appId: s('okta.appId'),
          auth:
            v['okta.apiToken'] !== undefined
              ? { kind: 'token' as const, token: s('okta.apiToken') }
              : {
                  kind: 'privateKey' as const,
                  clientId: s('okta.clientId'),
                  privateKey: s('okta.privateKey'),
                  ...(opt('okta.keyId') ? { keyId: s('okta.keyId') } : {}),
                  scopes: v['okta.scopes'] as string[],
                },
          teamGroups: [...new Set(v['okta.teamGroups'] as OktaTeamGroupSource[])],
          groupRule: opt('okta.groupRule') === undefined ? null : parseGroupRule(s('okta.groupRule')),
        }
      : null;
  const entra = source === 'entra' ? entraConfig(v) : null;
  return {
    source,
    okta,
    entra,
    docker: {
      scimBaseUrl: s('docker.scimBaseUrl').replace(/\/+$/, ''),
      scimToken: s('docker.scimToken'),
      // Docker organization names are lowercase; an IdP value "Acme" means the org "acme".
      defaultOrg: s('docker.defaultOrg').toLowerCase(),
      defaultTeam: opt('docker.defaultTeam') ?? null,
      concurrency: v['docker.concurrency'] as number,
      timeoutMs: Math.round((v['docker.timeoutSeconds'] as number) * 1000),
      maxRetries: v['docker.maxRetries'] as number,
      teamChunkSize: v['docker.teamChunkSize'] as number,
      teamSync: v['docker.teamSync'] as 'auto' | 'on' | 'off',
      verifiedDomains: lowerList(v['docker.verifiedDomains']),
      orgs: lowerList(v['docker.orgs']),
    },
    sync: {
      adoptExisting: v['sync.adoptExisting'] as boolean,
      deactivate: v['sync.deactivate'] as boolean,
      maxDeactivations: v['sync.maxDeactivations'] as number,
      maxDeactivationPercent: v['sync.maxDeactivationPercent'] as number,
      idpTimeoutMs: Math.round((v['sync.idpTimeoutSeconds'] as number) * 1000),
      idpMaxRetries: v['sync.idpMaxRetries'] as number,
      maxUsers: v['sync.maxUsers'] as number,
      failOn: s('sync.failOn') as SyncConfig['failOn'],
      fullSyncEveryMs: v['sync.fullSyncEvery'] as number,
      verifyEveryMs: v['sync.verifyEvery'] as number,
      jitDetectRuns: v['sync.jitDetectRuns'] as number,
    },
    daemon: {
      schedule: s('daemon.schedule'),
      timezone: opt('daemon.timezone') ?? null,
      startDelayMaxMs: v['daemon.startDelayMax'] as number,
      staleAfterMs: (v['daemon.staleAfter'] as number | undefined) ?? null,
      shutdownTimeoutMs: v['daemon.shutdownTimeout'] as number,
      httpPort: v['daemon.httpPort'] as number,
      httpHost: s('daemon.httpHost'),
    },
    notify: {
      webhookUrl: opt('notify.webhookUrl') ?? null,
      on: v['notify.on'] as NotifyEvent[],
    },
    state: stateConfig(v),
    log: logConfig(v),
    secrets,
    origins,
  };
}
