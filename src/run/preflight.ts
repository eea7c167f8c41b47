import { ConfigError, type ConfigProblem } from '../config/errors.ts';
import type { Config } from '../config/types.ts';
import { isValidOrg, isValidTeam } from '../mapping/validate.ts';

/**
 * Configuration checks that need Docker's naming rules, which live in mapping/ (config/ imports
 * nothing of the project). A bad default would give every user without attributes an invalid
 * organization or a team name Docker rejects, so it is refused at start instead; so is a DOCKER_ORGS
 * entry Docker cannot have.
 */
export function checkDockerDefaults(config: Config): void {
  const problems: ConfigProblem[] = [];
  if (!isValidOrg(config.docker.defaultOrg)) {
    problems.push({
      env: 'DOCKER_DEFAULT_ORG',
      path: 'docker.defaultOrg',
      problem: `${JSON.stringify(config.docker.defaultOrg)} is not a Docker organization name`,
      fix: 'use the organization name exactly as Docker shows it (lowercase letters, digits, and . _ - between them)',
    });
  }
  const team = config.docker.defaultTeam;
  if (team !== null && !isValidTeam(team)) {
    problems.push({
      env: 'DOCKER_DEFAULT_TEAM',
      path: 'docker.defaultTeam',
      problem: `${JSON.stringify(team)} is not a Docker team name`,
      fix: 'give the team name alone, without the organization (not "org:team"): letters, digits, and . _ - between them',
    });
  }
  // DOCKER_ORGS: a name Docker cannot have would hold every user of that org with a finding per run,
  // while the admin's typo sat here.
  for (const org of config.docker.orgs ?? []) {
    if (isValidOrg(org)) continue;
    problems.push({
      env: 'DOCKER_ORGS',
      path: 'docker.orgs',
      problem: `${JSON.stringify(org)} is not a Docker organization name`,
      fix: 'list the organizations exactly as Docker shows them, separated by commas (lowercase letters, digits, and . _ - between them)',
    });
  }
  if (problems.length) throw new ConfigError(problems);
}
