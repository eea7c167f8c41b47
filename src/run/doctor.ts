import { ConfigError } from '../config/errors.ts';
import type { Config } from '../config/types.ts';
import type { Logger } from '../logging/logger.ts';
import { mapSnapshot } from '../mapping/map.ts';
import { parseTeamGroup } from '../mapping/rules.ts';
import type { Check } from '../model/check.ts';
import type { DockerCapabilities } from '../model/docker.ts';
import { AppError } from '../model/errors.ts';
import type { IdpSnapshot, Source } from '../model/idp.ts';
import { decideTeamSync } from '../reconcile/capabilities.ts';
import { StateError } from '../state/errors.ts';
import { CURRENT_SCHEMA, inspectState } from '../state/inspect.ts';
import { createDockerClient, createSource, sourceIdentity } from './factory.ts';
import { mappingPolicyOf } from './observe.ts';
import { checkDockerDefaults } from './preflight.ts';

/**
 * `doctor`: every part of a setup checked once, each with a line that says how it stands and, when
 * it does not, what to fix. It reads (the IdP in full, Docker's discovery, the state file from a
 * private copy) and writes nothing anywhere: not to Docker, not to the IdP, not to the state file.
 * Checks that depend on one that failed are skipped, named, rather than failing for the same cause.
 */

export interface DoctorDeps {
  /** Loads and validates the configuration; throws ConfigError. */
  readonly load: () => Config;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** Clock skew past which signed tokens start to fail: Okta's client assertion lives 300 s, Entra's 600 s. */
const SKEW_WARN_MS = 60_000;
const SKEW_FAIL_MS = 240_000;

export async function runDoctor(deps: DoctorDeps): Promise<Check[]> {
  const checks: Check[] = [];
  let config: Config;
  try {
    config = deps.load();
    checkDockerDefaults(config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const p of err.problems) checks.push({ id: 'config', status: 'fail', detail: `${p.env}: ${p.problem}`, fix: p.fix });
    for (const id of ['idp.reachable', 'docker.reachable', 'clock', 'idp.read', 'docker.token', 'state']) checks.push({ id, status: 'skip', detail: 'the configuration is not valid' });
    return checks;
  }
  checks.push({ id: 'config', status: 'ok', detail: `valid: SOURCE=${config.source}, DOCKER_DEFAULT_ORG=${config.docker.defaultOrg}${config.docker.defaultTeam ? `, DOCKER_DEFAULT_TEAM=${config.docker.defaultTeam}` : ''}` });

  // One attempt each, at most one retry: a doctor that backs off for a minute before saying a
  // port is closed is no help.
  const quick: Config = { ...config, docker: { ...config.docker, maxRetries: Math.min(1, config.docker.maxRetries) }, sync: { ...config.sync, idpMaxRetries: Math.min(1, config.sync.idpMaxRetries) } };
  const now = deps.now ?? Date.now;
  const idpUrls = config.source === 'okta' && config.okta ? [config.okta.orgUrl] : config.entra ? [...new Set([config.entra.authorityHost, config.entra.graphBaseUrl])] : [];
  const [idpReach, dockerReach] = await Promise.all([Promise.all(idpUrls.map((u) => reach(u, config.sync.idpTimeoutMs, now))), reach(config.docker.scimBaseUrl, config.docker.timeoutMs, now)]);
  const idpOk = idpReach.every((r) => r.ok);
  checks.push(reachCheck('idp.reachable', idpReach));
  checks.push(reachCheck('docker.reachable', [dockerReach]));
  checks.push(clockCheck([...idpReach, dockerReach]));

  const [idp, docker] = await Promise.all([
    idpOk ? idpChecks(quick, deps.logger) : Promise.resolve([{ id: 'idp.read', status: 'skip', detail: 'the IdP cannot be reached' } as Check]),
    dockerReach.ok ? dockerChecks(quick, deps.logger) : Promise.resolve([{ id: 'docker.token', status: 'skip', detail: 'Docker cannot be reached' } as Check]),
  ]);
  checks.push(...idp, ...docker, stateCheck(config));
  return checks;
}

/** Exit status of `doctor`: 1 when anything failed. Warnings are worth reading, not failing on. */
export function doctorFailed(checks: readonly Check[]): boolean {
  return checks.some((c) => c.status === 'fail');
}

// ── reachability and clock ─────────────────────────────────────────────────────────────────

type Reach = { readonly url: string; readonly ok: true; readonly status: number; readonly skewMs: number | null } | { readonly url: string; readonly ok: false; readonly error: string; readonly fix: string };

/**
 * An unauthenticated GET of the base URL: any HTTP answer, even 401 or 404, proves DNS, routing,
 * TLS and the proxy; the credentials are checked next. No credential is sent here, and redirects
 * are not followed. The Date header of the answer gives the clock skew.
 */
async function reach(url: string, timeoutMs: number, now: () => number): Promise<Reach> {
  const sent = now();
  try {
    const res = await fetch(url, { method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    const received = now();
    await res.body?.cancel();
    const date = Date.parse(res.headers.get('date') ?? '');
    // Date has whole seconds; measured against the middle of the exchange.
    return { url, ok: true, status: res.status, skewMs: Number.isNaN(date) ? null : date - (sent + received) / 2 };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const code = cause?.code ?? (err as Error).name;
    const tls = /CERT|SSL|TLS|SELF_SIGNED/i.test(code ?? '');
    return {
      url,
      ok: false,
      error: `${code ?? 'error'}${cause?.message ? `: ${cause.message}` : `: ${(err as Error).message}`}`,
      fix: tls
        ? 'the server\'s certificate is not trusted: if a TLS-inspecting proxy sits in between, give its CA with NODE_EXTRA_CA_CERTS=<file>'
        : code === 'TimeoutError'
          ? 'no answer in time: check the firewall and the HTTPS proxy (HTTPS_PROXY), or raise the timeout'
          : 'check the URL, DNS, the firewall, and the HTTPS proxy (HTTPS_PROXY) between this host and the server',
    };
  }
}

function reachCheck(id: string, reaches: readonly Reach[]): Check {
  const failed = reaches.find((r): r is Extract<Reach, { ok: false }> => !r.ok);
  if (failed) return { id, status: 'fail', detail: `cannot reach ${failed.url}: ${failed.error}`, fix: failed.fix };
  return { id, status: 'ok', detail: reaches.map((r) => `${r.url} answers (HTTP ${r.ok ? r.status : '?'})`).join('; ') };
}

function clockCheck(reaches: readonly Reach[]): Check {
  const skews = reaches.flatMap((r) => (r.ok && r.skewMs !== null ? [{ url: r.url, skew: r.skewMs }] : []));
  if (skews.length === 0) return { id: 'clock', status: 'skip', detail: 'no server answered with a Date header' };
  const worst = skews.reduce((a, b) => (Math.abs(b.skew) > Math.abs(a.skew) ? b : a));
  const secs = Math.round(Math.abs(worst.skew) / 1000);
  const detail = `this host's clock is ${secs} s ${worst.skew > 0 ? 'behind' : 'ahead of'} ${worst.url}`;
  if (Math.abs(worst.skew) > SKEW_FAIL_MS) return { id: 'clock', status: 'fail', detail, fix: 'signed client assertions (Okta private_key_jwt, Entra certificates) are refused past a few minutes of skew: sync the clock with NTP' };
  if (Math.abs(worst.skew) > SKEW_WARN_MS) return { id: 'clock', status: 'warn', detail, fix: 'sync the clock with NTP before the skew reaches the few minutes signed tokens allow' };
  return { id: 'clock', status: 'ok', detail: secs <= 2 ? 'in step with the servers' : detail };
}

// ── the IdP ────────────────────────────────────────────────────────────────────────────────

async function idpChecks(config: Config, logger: Logger): Promise<Check[]> {
  const source = createSource(config, logger);
  let snapshot: IdpSnapshot;
  try {
    snapshot = await source.read();
  } catch (err) {
    return [failure('idp.read', err), { id: 'idp.feed', status: 'skip', detail: 'the IdP could not be read' }];
  }
  const active = snapshot.users.filter((u) => u.active).length;
  const read: Check =
    snapshot.users.length === 0
      ? { id: 'idp.read', status: 'warn', detail: `credentials accepted, but nobody is assigned to the Docker app (${snapshot.stats.requests} requests)`, fix: `assign the people (or groups of them) who should have Docker to the app in ${config.source === 'okta' ? 'Okta (Applications → Docker → Assignments)' : 'Entra (Enterprise applications → Docker → Users and groups)'}` }
      : { id: 'idp.read', status: 'ok', detail: `credentials accepted; ${snapshot.users.length} users assigned to the Docker app (${active} active), read in ${snapshot.stats.requests} requests` };
  return [read, attributeCheck(config, snapshot), mappingCheck(config, snapshot), teamGroupCheck(config, snapshot), await feedCheck(config, source)];
}

function attributeCheck(config: Config, snapshot: IdpSnapshot): Check {
  const n = snapshot.users.length;
  const count = (f: 'dockerRole' | 'dockerOrg' | 'dockerTeam') => snapshot.users.filter((u) => u[f].length > 0).length;
  // Where each attribute is read, in the IdP's own terms, as the source says it (and `explain` shows it).
  const origins = snapshot.users.find((u) => u.provenance)?.provenance?.attributes;
  const parts = (['dockerRole', 'dockerOrg', 'dockerTeam'] as const).map((f) => `${f} from ${origins?.[f] ?? 'the IdP'}: ${count(f)} of ${n}`);
  return { id: 'idp.attributes', status: 'ok', detail: `${parts.join('; ')} (unset: ${config.docker.defaultOrg} as member${config.docker.defaultTeam ? `, team ${config.docker.defaultTeam}` : ''})` };
}

/**
 * Docker's rules over what was read: how many users map to an account, and how many are held for
 * their data, by finding code. The same mapping a run makes, so the numbers are the report's.
 */
function mappingCheck(config: Config, snapshot: IdpSnapshot): Check {
  const desired = mapSnapshot(snapshot, mappingPolicyOf(config));
  const active = desired.users.filter((u) => u.active).length;
  const byCode = new Map<string, number>();
  for (const f of desired.findings) if (f.severity === 'error') byCode.set(f.code, (byCode.get(f.code) ?? 0) + 1);
  const mapped = `${active} active user${active === 1 ? '' : 's'} map to Docker accounts, ${desired.users.length - active} inactive`;
  if (desired.held.length === 0) return { id: 'idp.mapping', status: 'ok', detail: `${mapped}; nobody held for their data` };
  const codes = [...byCode.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([code, n]) => `${code} ${n}`).join(', ');
  return {
    id: 'idp.mapping',
    status: 'warn',
    detail: `${mapped}; ${desired.held.length} held for their data (${codes})`,
    fix: 'fix those records in the IdP: `sync --dry-run` lists each one with what to do (docs/troubleshooting.md has every code); held users are neither changed nor deactivated meanwhile',
  };
}


function teamGroupCheck(config: Config, snapshot: IdpSnapshot): Check {
  const teams = snapshot.groups.filter((g) => {
    const parsed = parseTeamGroup(g.name);
    return typeof parsed === 'object' && 'org' in parsed;
  });
  const how = config.source === 'okta' && config.okta ? `OKTA_TEAM_GROUPS=${config.okta.teamGroups.join(',')}${config.okta.groupRule ? ` (${config.okta.groupRule.op}:${config.okta.groupRule.value})` : ''}` : 'groups assigned to the app';
  if (teams.length === 0) {
    const wanted = config.source === 'okta' && config.okta?.teamGroups.some((s) => s !== 'assigned');
    return {
      id: 'idp.teams',
      status: wanted ? 'warn' : 'ok',
      detail: `no org:team group found under ${how}`,
      ...(wanted ? { fix: 'check OKTA_GROUP_RULE against the group names in Okta, or the app\'s Push Groups tab; team groups are named org:team' } : {}),
    };
  }
  const members = teams.reduce((sum, g) => sum + (g.memberCount ?? 0), 0);
  const shown = teams.slice(0, 5).map((g) => g.name).join(', ') + (teams.length > 5 ? `, … ${teams.length - 5} more` : '');
  return { id: 'idp.teams', status: 'ok', detail: `${teams.length} team group${teams.length === 1 ? '' : 's'} under ${how} with ${members} memberships: ${shown}` };
}

async function feedCheck(config: Config, source: Source): Promise<Check> {
  if (config.sync.fullSyncEveryMs === 0) return { id: 'idp.feed', status: 'skip', detail: 'FULL_SYNC_EVERY=0: every run is full, the change feed is not used' };
  if (!source.feed) return { id: 'idp.feed', status: 'skip', detail: `the ${config.source} source has no change feed` };
  try {
    await source.feed.start();
    return { id: 'idp.feed', status: 'ok', detail: `the change feed (${config.source === 'okta' ? 'Okta System Log' : 'Graph delta queries'}) can be read: incremental runs are possible` };
  } catch (err) {
    const f = failure('idp.feed', err);
    return { ...f, status: 'warn', detail: `${f.detail}; incremental runs will read everything (FEED_UNAVAILABLE)` };
  }
}

// ── Docker ─────────────────────────────────────────────────────────────────────────────────

async function dockerChecks(config: Config, logger: Logger): Promise<Check[]> {
  const client = createDockerClient(config, logger);
  let caps: DockerCapabilities;
  try {
    caps = await client.discover();
  } catch (err) {
    return [failure('docker.token', err)];
  }
  if (caps.patch === null && caps.groups === 'absent' && caps.resourceTypes.length === 0 && caps.schemas.length === 0) {
    return [
      {
        id: 'docker.token',
        status: 'fail',
        detail: `nothing SCIM answers at ${config.docker.scimBaseUrl}: ServiceProviderConfig, ResourceTypes, Schemas and Groups all answered 404`,
        fix: 'set DOCKER_SCIM_BASE_URL to the SCIM base URL shown in Docker Admin Console → SSO and SCIM (it ends in /v2/scim/2.0)',
      },
    ];
  }
  const said = [
    `PATCH ${caps.patch === null ? 'not stated' : caps.patch ? 'supported' : 'not supported'} (ServiceProviderConfig)`,
    `resource types ${caps.resourceTypes.length ? caps.resourceTypes.join(', ') : 'not listed'}`,
    `/Groups ${caps.groups}`,
  ];
  const teams = decideTeamSync(caps, config.docker.teamSync);
  return [
    { id: 'docker.token', status: 'ok', detail: `the SCIM token is accepted; ${said.join('; ')}` },
    teams.sync
      ? { id: 'docker.teams', status: 'ok', detail: `teams are synced through /Groups (DOCKER_TEAM_SYNC=${config.docker.teamSync})` }
      : {
          id: 'docker.teams',
          status: config.docker.teamSync === 'off' ? 'ok' : 'warn',
          detail: `team sync is skipped: ${teams.reason}; users still sync`,
          ...(config.docker.teamSync === 'off' ? {} : { fix: 'if your org:team groups should become Docker teams, ask Docker support about /Groups on this SSO connection; set DOCKER_TEAM_SYNC=off to silence this' }),
        },
  ];
}

// ── the state file ─────────────────────────────────────────────────────────────────────────

function stateCheck(config: Config): Check {
  const path = config.state.db;
  let look;
  try {
    look = inspectState(path);
  } catch (err) {
    if (err instanceof StateError) return { id: 'state', status: 'fail', detail: err.message, ...(err.hint ? { fix: err.hint } : {}) };
    throw err;
  }
  if (look.kind === 'absent') {
    return look.creatable
      ? { id: 'state', status: 'ok', detail: `${path} does not exist yet; the first run creates it in ${look.folder}` }
      : { id: 'state', status: 'fail', detail: `${path} does not exist and cannot be created: ${look.folder} is not a writable folder`, fix: 'point STATE_DB to a writable persistent location (in the container: the /data volume)' };
  }
  if (!look.writable) return { id: 'state', status: 'fail', detail: `${path} is a state file this process cannot write`, fix: 'give the user docker-idp-sync runs as write access to the file and its folder (it also writes a -wal file beside it)' };
  const identity = sourceIdentity(config);
  if (look.boundTo !== null && look.boundTo !== identity) {
    return {
      id: 'state',
      status: 'fail',
      detail: `${path} belongs to "${look.boundTo}", but this configuration reads "${identity}"`,
      fix: "links are keyed by the IdP's user ids: use a new STATE_DB for another tenant or app, or fix the configuration",
    };
  }
  const upgrade = look.version < CURRENT_SCHEMA ? `; the next run upgrades it from schema ${look.version} to ${CURRENT_SCHEMA}` : '';
  const last = look.lastRun ? `; last run ${look.lastRun.id} ${look.lastRun.status} at ${look.lastRun.at}` : '; no run yet';
  return { id: 'state', status: 'ok', detail: `${path} is ours and writable: ${look.links} linked accounts${last}${upgrade}` };
}

function failure(id: string, err: unknown): Check & { status: 'fail' } {
  if (err instanceof AppError) return { id, status: 'fail', detail: err.message, ...(err.hint ? { fix: err.hint } : {}) };
  return { id, status: 'fail', detail: err instanceof Error ? err.message : String(err) };
}
