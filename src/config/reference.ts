import { CONFIG_KEYS, type ConfigKey } from './keys.ts';
import { ALWAYS_REQUIRED, ENTRA_REQUIRED, OKTA_REQUIRED } from './schema.ts';

/**
 * The configuration reference in docs/, generated from the key table so it cannot drift from the
 * code (a test compares the file with this output; `npm run docs` rewrites it).
 */
export function renderConfigReference(): string {
  const groups: Array<[string, (k: ConfigKey) => boolean]> = [
    ['General', (k) => !k.path.includes('.')],
    ['Okta (SOURCE=okta)', (k) => k.path.startsWith('okta.')],
    ['Microsoft Entra ID (SOURCE=entra)', (k) => k.path.startsWith('entra.')],
    ['Docker', (k) => k.path.startsWith('docker.')],
    ['Sync behaviour and safety', (k) => k.path.startsWith('sync.')],
    ['Daemon: schedule, health and metrics (`docker-idp-sync daemon`)', (k) => k.path.startsWith('daemon.')],
    ['Alerts', (k) => k.path.startsWith('notify.')],
    ['State and logs', (k) => k.path.startsWith('state.') || k.path.startsWith('log.')],
  ];
  const out = [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/keys.ts by `npm run docs`; a test fails when this file is stale. -->',
    '',
    'Every key can be set in the YAML file (`--config`, example: `config/docker-idp-sync.example.yaml`) or with its',
    'environment variable; environment variables win. Secrets also accept `<VARIABLE>_FILE` (a path to a file holding',
    'the value, as Docker and Kubernetes mount secrets) or, in YAML, the key with `File` appended. The configuration is',
    'validated once at start; every problem is reported at once with the key, the problem and the fix.',
    '`docker-idp-sync validate-config` prints the effective values and where each came from.',
    '',
  ];
  for (const [title, match] of groups) {
    out.push(`## ${title}`, '', '| Variable | YAML key | Type | Default | Description |', '|---|---|---|---|---|');
    for (const k of CONFIG_KEYS.filter(match)) {
      const type =
        k.type === 'enum' ? (k.values ?? []).join(' \\| ')
        : k.type === 'secret' ? 'secret (also `_FILE`)'
        : k.type === 'attribute-source' ? 'attribute source'
        : k.type === 'list' && k.listValues ? `list of ${k.listValues.join(', ')}`
        : k.type;
      const def = k.default === undefined ? (isRequired(k) ? '**required**' : '') : `\`${String(k.default)}\``;
      const example = k.example && k.type !== 'secret' ? ` Example: \`${k.example}\`.` : '';
      out.push(`| \`${k.env}\` | \`${k.path}\` | ${type} | ${def} | ${k.description.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;')}${example} |`);
    }
    out.push('');
  }
  return `${out.join('\n')}`;
}

function isRequired(k: ConfigKey): boolean {
  return [...ALWAYS_REQUIRED, ...OKTA_REQUIRED, ...ENTRA_REQUIRED].includes(k.path);
}
