/** One thing wrong with the configuration, named the way the admin wrote it. */
export interface ConfigProblem {
  /** Environment variable name, e.g. OKTA_ORG_URL. */
  readonly env: string;
  /** YAML path, e.g. okta.orgUrl. */
  readonly path: string;
  readonly problem: string;
  readonly fix: string;
}

/** Configuration is invalid; every problem is listed at once so the admin fixes them in one go. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], headline = 'The configuration is not valid') {
    super(
      `${headline}:\n` +
        problems.map((p) => `  - ${p.env === p.path ? p.path : `${p.env} (${p.path})`}: ${p.problem}\n    fix: ${p.fix}`).join('\n'),
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
