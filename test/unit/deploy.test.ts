import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { MALLOC_ENV, SEMI_SPACE_FLAG } from '../../src/heap.ts';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { CONFIG_KEYS } from '../../src/config/keys.ts';
import { SyncMetrics } from '../../src/daemon/metrics.ts';

/**
 * No cluster, Docker engine, systemd or Prometheus runs in CI, so the deployment files under
 * deploy/ are checked where they can be: parsed, and held to what the application expects of
 * them (its image version, its endpoints, its configuration keys, its metric names).
 */

const root = new URL('../../', import.meta.url);
const read = (rel: string): string => readFileSync(new URL(rel, root), 'utf8');
const version = (JSON.parse(read('package.json')) as { version: string }).version;
const IMAGE = `docker-idp-sync:${version}`;
const SECRET_DIR = '/run/secrets/docker-idp-sync';
/** The daemon's own default (src/daemon): what a manifest that does not set SHUTDOWN_TIMEOUT gets. */
const DEFAULT_SHUTDOWN_TIMEOUT = '10s';

/**
 * The daemon's keys (issue 14): read by `daemon` (and FAIL_ON by `sync`) beside the table in
 * src/config/keys.ts. A name listed both here and there is fine.
 */
const DAEMON_KEYS: readonly { env: string; secret?: boolean }[] = [
  { env: 'SCHEDULE' },
  { env: 'HTTP_PORT' },
  { env: 'HTTP_HOST' },
  { env: 'STALE_AFTER' },
  { env: 'START_DELAY_MAX' },
  { env: 'SHUTDOWN_TIMEOUT' },
  { env: 'NOTIFY_WEBHOOK_URL', secret: true },
  { env: 'NOTIFY_ON' },
  { env: 'RETAIN_RUNS' },
  { env: 'RETAIN_DAYS' },
  { env: 'FAIL_ON' },
];

const SECRET_KEYS = new Set([...CONFIG_KEYS.filter((k) => k.type === 'secret').map((k) => k.env), ...DAEMON_KEYS.filter((k) => k.secret).map((k) => k.env)]);
// And the allocator settings the launchers give the process (src/heap.ts), which are glibc's, not the app's.
const KNOWN_ENV = new Set([...CONFIG_KEYS.map((k) => k.env), ...DAEMON_KEYS.map((k) => k.env), ...[...SECRET_KEYS].map((k) => `${k}_FILE`), ...Object.keys(MALLOC_ENV)]);

// ---- minimal shapes of what the manifests hold ----

interface EnvVar { name: string; value?: string; valueFrom?: unknown }
interface Probe { httpGet?: { path: string; port: string | number }; periodSeconds?: number; timeoutSeconds?: number; failureThreshold?: number; initialDelaySeconds?: number }
interface SecurityContext {
  runAsNonRoot?: boolean; runAsUser?: number; runAsGroup?: number; fsGroup?: number; readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean; privileged?: boolean; capabilities?: { drop?: string[]; add?: string[] }; seccompProfile?: { type: string };
}
interface Container {
  name: string; image: string; args?: string[]; command?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[]; envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  livenessProbe?: Probe; readinessProbe?: Probe; startupProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface Volume { name: string; persistentVolumeClaim?: { claimName: string }; secret?: { secretName: string; defaultMode?: number }; emptyDir?: { medium?: string; sizeLimit?: string } }
interface PodSpec {
  containers: Container[]; initContainers?: Container[]; securityContext?: SecurityContext; volumes?: Volume[];
  terminationGracePeriodSeconds?: number; restartPolicy?: string; automountServiceAccountToken?: boolean;
}
interface PodTemplate { metadata?: { labels?: Record<string, string> }; spec: PodSpec }
interface K8s { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: unknown; data?: Record<string, string>; stringData?: Record<string, string> }
interface Deployment extends K8s { spec: { replicas: number; strategy?: { type: string }; selector: { matchLabels: Record<string, string> }; template: PodTemplate } }
interface PodFailureRule { action: string; onExitCodes?: { containerName?: string; operator: 'In' | 'NotIn'; values: number[] }; onPodConditions?: { type: string }[] }
interface CronJob extends K8s {
  spec: { schedule: string; concurrencyPolicy?: string; jobTemplate: { spec: { backoffLimit?: number; podFailurePolicy?: { rules: PodFailureRule[] }; template: PodTemplate } } };
}
interface Service extends K8s { spec: { type?: string; selector: Record<string, string>; ports: { name?: string; port: number; targetPort?: string | number }[] } }
interface Pvc extends K8s { spec: { accessModes: string[]; resources: { requests: { storage: string } } } }

/**
 * Every document of a YAML file, failing on any parse error or warning. Kubernetes' YAML reader
 * (sigs.k8s.io/yaml) follows YAML 1.1, where `0440` is octal: read the manifests the same way.
 */
function yamlDocs(rel: string, version: '1.1' | '1.2' = '1.2'): unknown[] {
  const docs = parseAllDocuments(read(rel), { version });
  const list = Array.isArray(docs) ? docs : [];
  for (const d of list) {
    expect(d.errors.map((e) => e.message), rel).toEqual([]);
    expect(d.warnings.map((e) => e.message), rel).toEqual([]);
  }
  return list.map((d) => d.toJS() as unknown).filter((d) => d !== null && d !== undefined);
}

const K8S_DIR = 'deploy/kubernetes/';
const k8sFiles = readdirSync(new URL(K8S_DIR, root)).filter((f) => f.endsWith('.yaml')).sort();
const k8sObjects = k8sFiles.flatMap((f) => (f === 'kustomization.yaml' ? [] : yamlDocs(K8S_DIR + f, '1.1').map((o) => ({ file: f, obj: o as K8s }))));
function one<T extends K8s>(kind: string): T {
  const found = k8sObjects.filter((o) => o.obj.kind === kind);
  expect(found.map((o) => o.file), `exactly one ${kind}`).toHaveLength(1);
  return found[0]!.obj as T;
}
const deployment = one<Deployment>('Deployment');
const cronJob = one<CronJob>('CronJob');
const service = one<Service>('Service');
const pvc = one<Pvc>('PersistentVolumeClaim');
const configMap = one<K8s>('ConfigMap');
const secret = one<K8s>('Secret');
const kustomization = yamlDocs(K8S_DIR + 'kustomization.yaml', '1.1')[0] as { resources: string[]; images?: { name: string; newTag?: string }[] };

interface ComposeService {
  image?: string; build?: unknown; command?: string[] | string; env_file?: unknown; environment?: Record<string, string | null> | string[];
  secrets?: (string | { source: string; target?: string })[]; volumes?: (string | { type?: string; source?: string; target: string })[];
  ports?: (string | { target: number; published?: string | number; host_ip?: string })[];
  healthcheck?: { test: string[] | string; interval?: string; timeout?: string; start_period?: string; retries?: number };
  read_only?: boolean; tmpfs?: string | string[]; restart?: string; stop_grace_period?: string; user?: string; cap_drop?: string[]; security_opt?: string[];
}
const compose = yamlDocs('deploy/docker-compose.yml')[0] as { services: Record<string, ComposeService>; secrets?: Record<string, { file?: string }>; volumes?: Record<string, unknown> };

/** A systemd unit as (section, key, value) lines, comments dropped. */
const unitText = read('deploy/systemd/docker-idp-sync.service');
const unit: { section: string; key: string; value: string }[] = [];
{
  let section = '';
  for (const raw of unitText.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) section = s[1]!;
    else {
      const eq = line.indexOf('=');
      expect(eq, `a key=value line: ${line}`).toBeGreaterThan(0);
      unit.push({ section, key: line.slice(0, eq), value: line.slice(eq + 1) });
    }
  }
}
const unitValues = (key: string, section = 'Service'): string[] => unit.filter((l) => l.section === section && l.key === key).map((l) => l.value);
/** Environment= lines: space-separated assignments, optionally double-quoted. */
const unitEnv: Record<string, string> = Object.fromEntries(
  unitValues('Environment').flatMap((v) => [...v.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!)).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]),
);

// ---- helpers ----

/** Seconds in a Go/systemd-style duration: 30, 30s, 1m30s, 45m, 2h. */
function seconds(d: string | number): number {
  if (typeof d === 'number') return d;
  if (/^\d+$/.test(d)) return Number(d);
  const parts = [...d.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  expect(parts.map((p) => p[0]).join(''), `a duration: ${d}`).toBe(d.replace(/\s+/g, ''));
  return parts.reduce((sum, p) => sum + Number(p[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[p[2] as 'ms' | 's' | 'm' | 'h'], 0);
}

function containerOf(spec: PodSpec): Container {
  expect(spec.containers).toHaveLength(1);
  expect(spec.initContainers ?? []).toEqual([]);
  return spec.containers[0]!;
}

function composeEnv(s: ComposeService): Record<string, string> {
  const e = s.environment ?? {};
  if (Array.isArray(e)) return Object.fromEntries(e.map((a) => [a.split('=')[0]!, a.slice(a.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v ?? '']));
}

/** What the pod runs with, for the Deployment and the CronJob alike. */
function expectHardenedPod(spec: PodSpec): void {
  expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
  const c = containerOf(spec);
  expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
  expect(c.securityContext?.privileged ?? false).toBe(false);
  expect(c.securityContext?.capabilities?.drop).toContain('ALL');
  expect(c.securityContext?.capabilities?.add ?? []).toEqual([]);
  for (const k of ['runAsUser', 'runAsGroup'] as const) if (c.securityContext?.[k] !== undefined) expect(c.securityContext[k]).toBe(1000);
  if (c.securityContext?.runAsNonRoot !== undefined) expect(c.securityContext.runAsNonRoot).toBe(true);
  expect(spec.automountServiceAccountToken).toBe(false);

  expect(c.image).toBe(IMAGE);
  expect(c.resources?.requests).toMatchObject({ cpu: '100m', memory: '256Mi' });
  expect(c.resources?.limits).toMatchObject({ memory: '1Gi' });

  const volume = (mountPath: string): Volume => {
    const m = (c.volumeMounts ?? []).filter((v) => v.mountPath === mountPath);
    expect(m, `one mount at ${mountPath}`).toHaveLength(1);
    const v = (spec.volumes ?? []).find((x) => x.name === m[0]!.name);
    expect(v, `the volume of ${mountPath}`).toBeDefined();
    return v!;
  };
  // The state file on the PVC, the credentials read-only from the Secret, /tmp writable.
  expect(volume('/data').persistentVolumeClaim?.claimName).toBe(pvc.metadata.name);
  const secrets = volume(SECRET_DIR);
  expect(secrets.secret?.secretName).toBe(secret.metadata.name);
  expect(c.volumeMounts!.find((m) => m.mountPath === SECRET_DIR)!.readOnly).toBe(true);
  if (secrets.secret?.defaultMode !== undefined) expect(secrets.secret.defaultMode & 0o007).toBe(0);
  const tmp = volume('/tmp');
  expect(tmp.emptyDir).toBeDefined();
  // Every other mount is read-only: the root filesystem is, and only /data and /tmp are written.
  for (const m of c.volumeMounts ?? []) if (m.mountPath !== '/data' && m.mountPath !== '/tmp') expect(m.readOnly, m.mountPath).toBe(true);

  // Non-secret settings from the ConfigMap; credentials only as files of the mounted Secret.
  expect(c.envFrom?.map((e) => e.configMapRef?.name)).toContain(configMap.metadata.name);
  expect((c.envFrom ?? []).filter((e) => e.secretRef)).toEqual([]);
  const env = c.env ?? [];
  const fileVars = env.filter((e) => e.name.endsWith('_FILE'));
  expect(fileVars.length).toBeGreaterThan(0);
  for (const e of fileVars) {
    expect(e.value, e.name).toMatch(new RegExp(`^${SECRET_DIR}/[^/]+$`));
    // ...naming a key the Secret holds (each key becomes a file of that name).
    expect(Object.keys(secret.stringData ?? secret.data ?? {}), e.name).toContain(e.value!.slice(SECRET_DIR.length + 1));
  }
  for (const e of env) expect(SECRET_KEYS.has(e.name), `${e.name} set as a plain value`).toBe(false);
  expect(c.envFrom?.length).toBe(1);
}

function podLabels(t: PodTemplate): Record<string, string> {
  return t.metadata?.labels ?? {};
}

// ---- the tests ----

describe('deploy/kubernetes', () => {
  it('parses, each object with apiVersion, kind and name; kustomization lists the daemon, not the CronJob', () => {
    expect(k8sObjects.length).toBeGreaterThanOrEqual(6);
    for (const { file, obj } of k8sObjects) {
      expect(obj.apiVersion, file).toMatch(/^[a-z0-9.]*\/?v\d+/);
      expect(obj.kind, file).toMatch(/^[A-Z]\w+$/);
      expect(obj.metadata?.name, file).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
    const res = kustomization.resources;
    for (const r of res) expect(existsSync(new URL(K8S_DIR + r, root)), r).toBe(true);
    expect([...res].sort()).toEqual(k8sFiles.filter((f) => !['kustomization.yaml', 'cronjob.yaml', 'secret.example.yaml'].includes(f)).sort());
    // The Secret is created with kubectl (real values never in git); its example is not applied.
    expect(res).not.toContain('secret.example.yaml');
    expect(res).not.toContain('cronjob.yaml');
    for (const i of kustomization.images ?? []) if (i.newTag !== undefined) expect(i.newTag).toBe(version);
  });

  it('runs the image of this version (built and pushed by the admin)', () => {
    const images = k8sObjects.flatMap(({ obj }) => {
      const t = obj.kind === 'Deployment' ? (obj as Deployment).spec.template : obj.kind === 'CronJob' ? (obj as CronJob).spec.jobTemplate.spec.template : null;
      return t ? [...t.spec.containers, ...(t.spec.initContainers ?? [])].map((c) => c.image) : [];
    });
    expect(images.length).toBe(2);
    for (const i of images) expect(i).toBe(IMAGE);
  });

  it('Deployment: one replica, recreated (never two pods on the state file), the daemon on port 8080', () => {
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy?.type).toBe('Recreate');
    const t = deployment.spec.template;
    expect(podLabels(t)).toMatchObject(deployment.spec.selector.matchLabels);
    const c = containerOf(t.spec);
    expect(c.command).toBeUndefined();
    expect(c.args ?? ['daemon']).toEqual(['daemon']);
    expect(c.ports).toEqual([expect.objectContaining({ name: 'http', containerPort: 8080 })]);
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
    // The probes reach the pod's IP: the daemon must not listen on loopback only (the image sets 0.0.0.0).
    if (env.HTTP_HOST !== undefined) expect(env.HTTP_HOST).toBe('0.0.0.0');
    if (env.HTTP_PORT !== undefined) expect(Number(env.HTTP_PORT)).toBe(8080);
    expect(configMap.data?.HTTP_HOST ?? '0.0.0.0').toBe('0.0.0.0');
    expect(Number(configMap.data?.HTTP_PORT ?? 8080)).toBe(8080);
  });

  it('Deployment: liveness on /healthz, readiness on /readyz, at the named port, tolerant of long runs', () => {
    const c = containerOf(deployment.spec.template.spec);
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    // Restarting a pod whose IdP is down or whose first run takes an hour fixes nothing: nothing
    // that can restart the pod may ask /readyz.
    if (c.startupProbe) {
      expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect((c.startupProbe.periodSeconds ?? 10) * (c.startupProbe.failureThreshold ?? 3)).toBeGreaterThanOrEqual(60);
    }
    const live = c.livenessProbe!;
    expect(live.timeoutSeconds ?? 1).toBeGreaterThanOrEqual(2);
    expect((live.periodSeconds ?? 10) * (live.failureThreshold ?? 3)).toBeGreaterThanOrEqual(30);
  });

  it('Deployment: hardened pod, resources, state on the PVC, secrets as read-only files, /tmp on an emptyDir', () => {
    expectHardenedPod(deployment.spec.template.spec);
    expect(pvc.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(pvc.spec.resources.requests.storage).toMatch(/^\d+(Mi|Gi)$/);
  });

  it('Deployment: the grace period outlasts SHUTDOWN_TIMEOUT', () => {
    const grace = deployment.spec.template.spec.terminationGracePeriodSeconds;
    expect(grace).toBeDefined();
    expect(grace!).toBeGreaterThan(seconds(configMap.data?.SHUTDOWN_TIMEOUT ?? DEFAULT_SHUTDOWN_TIMEOUT) + 5);
  });

  it('Service: ClusterIP on 8080 named http-metrics, scraped by Prometheus, selecting the daemon', () => {
    expect(service.spec.type ?? 'ClusterIP').toBe('ClusterIP');
    expect(service.spec.ports).toEqual([expect.objectContaining({ name: 'http-metrics', port: 8080 })]);
    expect(['http', 8080]).toContain(service.spec.ports[0]!.targetPort ?? 8080);
    expect(podLabels(deployment.spec.template)).toMatchObject(service.spec.selector);
    expect(service.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080', 'prometheus.io/path': '/metrics' });
  });

  it('CronJob: sync, never two at once, exit codes 3 and 4 fail the Job instead of being retried', () => {
    expect(cronJob.spec.concurrencyPolicy).toBe('Forbid');
    expect(cronJob.spec.schedule.split(/\s+/)).toHaveLength(5);
    const job = cronJob.spec.jobTemplate.spec;
    expect(job.backoffLimit).toBeGreaterThanOrEqual(1);
    const pod = job.template.spec;
    const c = containerOf(pod);
    expect(c.command).toBeUndefined();
    expect(c.args?.[0]).toBe('sync');
    expect(c.args).not.toContain('--dry-run');
    expect(c.args).not.toContain('--force');
    expect(pod.restartPolicy).toBe('Never'); // podFailurePolicy requires it

    /** What the Job does with a container exit code: the first matching rule wins, else Count. */
    const rules = job.podFailurePolicy?.rules ?? [];
    const actionFor = (code: number): string => {
      for (const r of rules) {
        const e = r.onExitCodes;
        if (!e || (e.containerName !== undefined && e.containerName !== c.name)) continue;
        if (e.operator === 'In' ? e.values.includes(code) : !e.values.includes(code)) return r.action;
      }
      return 'Count';
    };
    expect(actionFor(3)).toBe('FailJob'); // deactivations held: a human reviews, then --force
    expect(actionFor(4)).toBe('FailJob'); // findings at FAIL_ON: fix the IdP data
    // A transient error is retried within backoffLimit; Ignore would retry a bad configuration forever.
    expect(actionFor(1)).toBe('Count');
    expect(actionFor(137)).not.toBe('Ignore');
    for (const r of rules) expect(['FailJob', 'FailIndex', 'Ignore', 'Count']).toContain(r.action);
    for (const r of rules) if (r.onExitCodes) expect(r.onExitCodes.values).not.toContain(0);
  });

  it('CronJob: the same hardened pod, PVC, Secret and /tmp as the Deployment', () => {
    expectHardenedPod(cronJob.spec.jobTemplate.spec.template.spec);
  });

  it('example Secret holds placeholders only', () => {
    expect(secret.data).toBeUndefined();
    for (const [k, v] of Object.entries(secret.stringData ?? {})) expect(v, k).toMatch(/^REPLACE-/);
  });
});

describe('deploy/docker-compose.yml', () => {
  const entries = Object.entries(compose.services);
  const s = entries[0]?.[1] ?? ({} as ComposeService);

  it('one service from this version of the image, running the daemon', () => {
    expect(entries).toHaveLength(1);
    expect(s.image).toBe(IMAGE);
    expect(s.command ?? ['daemon']).toEqual(['daemon']);
    expect(s.env_file).toBeDefined();
  });

  it('publishes port 8080 on 127.0.0.1 only', () => {
    expect(s.ports?.length).toBeGreaterThan(0);
    for (const p of s.ports ?? []) {
      if (typeof p === 'string') expect(p).toMatch(/^127\.0\.0\.1:\d+:8080(\/tcp)?$/);
      else expect(p).toMatchObject({ host_ip: '127.0.0.1', target: 8080 });
    }
  });

  it('read-only root, tmpfs /tmp, the state on a named volume at /data, user 1000', () => {
    expect(s.read_only).toBe(true);
    expect([s.tmpfs ?? []].flat().map((t) => t.split(':')[0])).toContain('/tmp');
    const data = (s.volumes ?? []).map((v) => (typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1] } : v)).filter((v) => v.target === '/data');
    expect(data).toHaveLength(1);
    expect(Object.keys(compose.volumes ?? {})).toContain(data[0]!.source);
    expect(s.user).toMatch(/^1000(:1000)?$/);
    expect(s.cap_drop).toContain('ALL');
    expect(s.security_opt).toContain('no-new-privileges:true');
  });

  it('restarts, stops gracefully and health-checks /healthz', () => {
    expect(s.restart).toBe('unless-stopped');
    expect(seconds(s.stop_grace_period ?? '10s')).toBeGreaterThan(seconds(composeEnv(s).SHUTDOWN_TIMEOUT ?? DEFAULT_SHUTDOWN_TIMEOUT) + 5);
    expect([s.healthcheck?.test ?? []].flat().join(' ')).toMatch(/http:\/\/127\.0\.0\.1:.*\/healthz/);
    for (const k of ['interval', 'timeout', 'start_period'] as const) expect(seconds(s.healthcheck?.[k] ?? '')).toBeGreaterThan(0);
  });

  it('credentials as compose secrets, read through *_FILE', () => {
    const names = (s.secrets ?? []).map((x) => (typeof x === 'string' ? { source: x, target: x } : { source: x.source, target: x.target ?? x.source }));
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) expect(compose.secrets?.[n.source]?.file, n.source).toBeDefined();
    const env = composeEnv(s);
    const files = Object.entries(env).filter(([k]) => k.endsWith('_FILE'));
    expect(files.length).toBeGreaterThan(0);
    for (const [k, v] of files) expect(names.map((n) => (n.target.startsWith('/') ? n.target : `/run/secrets/${n.target}`)), k).toContain(v);
    for (const k of Object.keys(env)) expect(SECRET_KEYS.has(k), `${k} set as a plain value`).toBe(false);
  });
});

describe('deploy/systemd/docker-idp-sync.service', () => {
  const one = (key: string): string => {
    const v = unitValues(key);
    expect(v, key).toHaveLength(1);
    return v[0]!;
  };

  it('runs the npm-installed daemon with its environment file', () => {
    expect(one('ExecStart')).toBe(`/usr/bin/node ${SEMI_SPACE_FLAG} /opt/docker-idp-sync/dist/cli.js daemon`);
    expect(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).scripts.start).toBe(`node ${SEMI_SPACE_FLAG} dist/cli.js`);
    expect(one('EnvironmentFile')).toBe('/etc/docker-idp-sync/env');
    for (const [k, v] of Object.entries(MALLOC_ENV)) expect(unitValues('Environment')).toContain(`${k}=${v}`);
    expect(unitValues('WantedBy', 'Install')).toEqual(['multi-user.target']);
  });

  it('keeps its state in a StateDirectory of a dynamic user', () => {
    expect(one('DynamicUser')).toBe('yes');
    expect(one('StateDirectory')).toBe('docker-idp-sync');
    expect(unitEnv.STATE_DB).toBe('/var/lib/docker-idp-sync/state.db');
  });

  it('passes credentials with LoadCredential= and *_FILE=%d/...', () => {
    const creds = unitValues('LoadCredential').map((v) => v.split(':')[0]!);
    expect(creds.length).toBeGreaterThan(0);
    const files = Object.entries(unitEnv).filter(([k]) => k.endsWith('_FILE'));
    expect(files.length).toBe(creds.length);
    for (const [k, v] of files) {
      expect(v, k).toMatch(/^%d\/[^/]+$/);
      expect(creds, k).toContain(v.slice(3));
    }
    for (const k of Object.keys(unitEnv)) expect(SECRET_KEYS.has(k), `${k} set as a plain value`).toBe(false);
  });

  it('is hardened, restarts on failure and stops gracefully', () => {
    const expected: Record<string, string> = {
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      NoNewPrivileges: 'yes',
      PrivateDevices: 'yes',
      RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX',
      Restart: 'on-failure',
      KillSignal: 'SIGTERM',
    };
    for (const [k, v] of Object.entries(expected)) expect(one(k), k).toBe(v);
    expect(one('CapabilityBoundingSet')).toBe('');
    expect(seconds(one('TimeoutStopSec'))).toBeGreaterThan(seconds(unitEnv.SHUTDOWN_TIMEOUT ?? DEFAULT_SHUTDOWN_TIMEOUT) + 5);
    // Node's JIT writes code to memory it then executes: this would kill it at start.
    expect(unitValues('MemoryDenyWriteExecute').filter((v) => v === 'yes' || v === 'true')).toEqual([]);
  });
});

describe('every environment variable a deployment file sets is a configuration key', () => {
  /** name → value, with where it was set. */
  const set: { where: string; name: string; value: string }[] = [
    ...Object.entries(configMap.data ?? {}).map(([name, value]) => ({ where: 'configmap.yaml', name, value })),
    ...containerOf(deployment.spec.template.spec).env!.map((e) => ({ where: 'deployment.yaml', name: e.name, value: e.value ?? '' })),
    ...containerOf(cronJob.spec.jobTemplate.spec.template.spec).env!.map((e) => ({ where: 'cronjob.yaml', name: e.name, value: e.value ?? '' })),
    ...Object.entries(composeEnv(Object.values(compose.services)[0]!)).map(([name, value]) => ({ where: 'docker-compose.yml', name, value })),
    ...Object.entries(unitEnv).map(([name, value]) => ({ where: 'docker-idp-sync.service', name, value })),
  ];

  /** Names in the files' comments and examples too: suggestions an admin will uncomment. */
  const suggested = (rel: string): string[] => [
    ...read(rel).matchAll(/^\s*#\s*-?\s*name:\s*([A-Z][A-Z0-9_]+)\s*$/gm),
    ...read(rel).matchAll(/^\s*#\s*([A-Z][A-Z0-9_]{2,}):\s/gm),
    ...read(rel).matchAll(/^\s*#?\s*([A-Z][A-Z0-9_]{2,})=/gm),
    ...read(rel).matchAll(/^\s*-p Environment=([A-Z][A-Z0-9_]+)=/gm),
  ].map((m) => m[1]!);

  it('names a key of src/config/keys.ts, a daemon key, or <secret key>_FILE', () => {
    expect(set.length).toBeGreaterThan(15);
    for (const { where, name } of set) expect(KNOWN_ENV.has(name), `${name} in ${where}`).toBe(true);
    const files = [...k8sFiles.map((f) => K8S_DIR + f), 'deploy/docker-compose.yml', 'deploy/systemd/docker-idp-sync.service', 'deploy/systemd/README.md'];
    const names = files.flatMap((f) => suggested(f).map((name) => ({ f, name })));
    expect(names.length).toBeGreaterThan(10);
    for (const { f, name } of names) expect(KNOWN_ENV.has(name), `${name} in ${f}`).toBe(true);
  });

  it('gives enumerated and numeric keys a value they accept', () => {
    for (const { where, name, value } of set) {
      const key = CONFIG_KEYS.find((k) => k.env === name);
      if (key?.values) expect(key.values, `${name} in ${where}`).toContain(value);
      if (key?.type === 'int') expect(value, `${name} in ${where}`).toMatch(/^\d+$/);
      if (key?.type === 'number') expect(Number.isFinite(Number(value)), `${name} in ${where}`).toBe(true);
      if (['STALE_AFTER', 'START_DELAY_MAX', 'SHUTDOWN_TIMEOUT'].includes(name)) expect(seconds(value)).toBeGreaterThanOrEqual(0);
      if (name === 'SCHEDULE') expect(value.split(/\s+/)).toHaveLength(5);
      if (['HTTP_PORT', 'RETAIN_RUNS', 'RETAIN_DAYS'].includes(name)) expect(value).toMatch(/^\d+$/);
      if (name === 'FAIL_ON') expect(['error', 'warning', 'never']).toContain(value);
    }
  });
});

describe('deploy/observability', () => {
  const dashboard = JSON.parse(read('deploy/observability/grafana-dashboard.json')) as {
    schemaVersion: number; uid: string; title: string;
    templating: { list: { name: string; type: string; query: unknown; definition?: string }[] };
    panels: { id: number; type: string; title: string; datasource?: { type: string; uid: string }; gridPos: { x: number; y: number; w: number; h: number }; targets?: { expr: string; datasource?: { uid: string } }[] }[];
  };
  const rules = yamlDocs('deploy/observability/prometheus-rules.yaml')[0] as {
    groups: { name: string; rules: { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] }[];
  };
  const alerts = rules.groups.flatMap((g) => g.rules);

  const dashboardExprs = [
    ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
    ...dashboard.templating.list.flatMap((v) => [v.definition ?? '', typeof v.query === 'string' ? v.query : ((v.query as { query?: string } | null)?.query ?? '')]),
  ].filter((e) => e !== '');
  const ruleExprs = alerts.map((a) => a.expr);

  /** The names /metrics exports, histogram series included. */
  async function exported(): Promise<{ all: Set<string>; own: string[] }> {
    const metrics = await new SyncMetrics({}).registry.getMetricsAsJSON();
    const all = new Set<string>();
    for (const m of metrics) {
      all.add(m.name);
      if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) all.add(m.name + s);
    }
    const own = (await new SyncMetrics({ processMetrics: false }).registry.getMetricsAsJSON()).map((m) => m.name);
    return { all, own };
  }
  const namesIn = (exprs: string[]): string[] => [...new Set(exprs.flatMap((e) => [...e.matchAll(/docker_idp_sync_[a-z0-9_]+/g)].map((m) => m[0])))];

  it('dashboard and rules name only metrics the daemon exports', async () => {
    const { all } = await exported();
    for (const [what, exprs] of [['dashboard', dashboardExprs], ['rules', ruleExprs]] as const) {
      const names = namesIn(exprs);
      expect(names.length, what).toBeGreaterThan(3);
      for (const n of names) expect(all.has(n), `${n} in the ${what}`).toBe(true);
      // A name whose prefix is misspelled escapes the regex above: no other docker_* name at all.
      for (const e of exprs) for (const m of e.matchAll(/\bdocker_[a-z0-9_]*/g)) expect(m[0], `${what}: ${e}`).toMatch(/^docker_idp_sync_/);
    }
  });

  it('dashboard: a ${datasource} variable, every panel on it, every metric of the daemon shown', async () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.uid).toBe('docker-idp-sync');
    const ds = dashboard.templating.list.find((v) => v.name === 'datasource');
    expect(ds).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(p.gridPos.w, p.title).toBeGreaterThan(0);
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      if (p.type === 'row') continue;
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) if (t.datasource) expect(t.datasource.uid, p.title).toBe('${datasource}');
    }
    const { own } = await exported();
    const shown = new Set(namesIn(dashboardExprs).map((n) => n.replace(/_(bucket|sum|count)$/, '')));
    expect(own.length).toBe(17);
    for (const n of own) expect(shown.has(n), `${n} on the dashboard`).toBe(true);
    expect(dashboardExprs.some((e) => /histogram_quantile\(0\.95, .*docker_idp_sync_run_duration_seconds_bucket/.test(e))).toBe(true);
    expect(dashboardExprs.some((e) => /time\(\) - .*docker_idp_sync_last_success_timestamp_seconds/.test(e))).toBe(true);
    expect(dashboardExprs.some((e) => /docker_idp_sync_api_requests_total\{[^}]*status="429"/.test(e))).toBe(true);
    expect(dashboardExprs.some((e) => /docker_idp_sync_process_resident_memory_bytes/.test(e))).toBe(true);
  });

  it('rules: the five alerts, each saying what it means and where to read what to do', () => {
    expect(alerts.map((a) => a.alert).sort()).toEqual(['DockerIdpSync429Storm', 'DockerIdpSyncDeactivationsHeld', 'DockerIdpSyncDown', 'DockerIdpSyncFailing', 'DockerIdpSyncStale']);
    for (const a of alerts) {
      expect(a.annotations?.summary, a.alert).toBeTruthy();
      expect(a.annotations?.description, a.alert).toMatch(/Run in production/);
      expect(a.labels?.severity, a.alert).toMatch(/^(critical|warning|info)$/);
      if (a.for !== undefined) expect(seconds(a.for), a.alert).toBeGreaterThanOrEqual(0);
      // Balanced brackets: a cheap guard against a broken expression.
      for (const [o, c] of [['(', ')'], ['{', '}'], ['[', ']']]) expect(a.expr.split(o!).length, `${a.alert} ${o}${c}`).toBe(a.expr.split(c!).length);
    }
    const by = (name: string) => alerts.find((a) => a.alert === name)!;
    expect(by('DockerIdpSyncStale').expr).toMatch(/time\(\) - docker_idp_sync_last_success_timestamp_seconds > 3600/);
    expect(by('DockerIdpSyncStale').expr).toMatch(/absent\(docker_idp_sync_last_success_timestamp_seconds\)/);
    expect(by('DockerIdpSyncFailing').expr).toMatch(/docker_idp_sync_consecutive_failures >= 3/);
    expect(by('DockerIdpSyncFailing').expr).toMatch(/\[30m\]/);
    expect(by('DockerIdpSyncDeactivationsHeld').expr).toMatch(/docker_idp_sync_deactivations_held > 0/);
    expect(by('DockerIdpSyncDeactivationsHeld').for).toBe('5m');
    expect(by('DockerIdpSync429Storm').expr).toMatch(/status="429"/);
    expect(by('DockerIdpSync429Storm').expr).toMatch(/by \([^)]*\bsystem\b[^)]*\)/);
    expect(by('DockerIdpSync429Storm').expr).toMatch(/> 0\.05/);
    expect(by('DockerIdpSync429Storm').for).toBe('10m');
    expect(by('DockerIdpSyncDown').expr).toMatch(/\bup\{[^}]*\} == 0/);
    expect(by('DockerIdpSyncDown').expr).toMatch(/absent\(up\{/);
  });
});
