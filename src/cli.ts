#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { daemonCommand } from './commands/daemon.ts';
import { demoCommand } from './commands/demo.ts';
import { loadContext, type CommandContext, type GlobalOptions } from './commands/context.ts';
import { sandboxCommand } from './commands/sandbox.ts';
import { stateRebuildCommand } from './commands/state-rebuild.ts';
import { statusCommand } from './commands/status.ts';
import { syncCommand } from './commands/sync.ts';
import { validateConfigCommand } from './commands/validate-config.ts';
import { failureText, Interrupted, isExpected } from './logging/failure.ts';
import { createLogger, type Logger } from './logging/logger.ts';
import { AppError } from './model/errors.ts';
import { REPORT_FORMATS } from './report/index.ts';
import { unsupportedNode } from './runtime.ts';

/**
 * Commands and exit codes. Exit codes (README "Exit codes"):
 *   0  success (for --dry-run: nothing to change)
 *   1  error: bad configuration, an unreadable IdP or Docker, an unusable state file, or an
 *      operation that failed
 *   2  --dry-run found changes to make
 *   3  a safety guard held deactivations back (everything else was applied)
 *   4  findings at FAIL_ON severity (default: error, e.g. users held for bad IdP data); everything
 *      else was applied, or, for --dry-run, there is nothing to change
 */

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

function int(name: string, min = 0) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number`);
    if (n < min) throw new InvalidArgumentError(`${name} must be at least ${min}`);
    return n;
  };
}

let context: CommandContext | null = null;

function ctx(program: Command): CommandContext {
  context ??= loadContext(program.opts<GlobalOptions>());
  return context;
}

/** Ctrl-C or SIGTERM once: stop starting new writes, finish and journal those in flight. Twice: exit now. */
function shutdownSignal(): AbortSignal {
  const controller = new AbortController();
  let count = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    count += 1;
    if (count === 1) {
      process.stderr.write(`\n${sig}: finishing the operations in flight, then stopping (send again to exit at once)\n`);
      controller.abort(new Interrupted(sig));
    } else process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}

export function buildProgram(): Command {
  const program = new Command('docker-idp-sync')
    .description('Keeps Docker organizations, teams and roles in step with Okta or Microsoft Entra ID (pull, reconcile, push over SCIM 2.0).')
    .version(pkg.version)
    .option('-c, --config <file>', 'YAML configuration file (env: DOCKER_IDP_SYNC_CONFIG); environment variables override it')
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .addOption(new Option('--log-format <format>', 'log format on stderr').choices(['auto', 'json', 'pretty']))
    .showHelpAfterError();

  program
    .command('sync')
    .description('Read the IdP and Docker, plan, and apply (or only report, with --dry-run)')
    .option('--dry-run', 'print the reconciliation report; write nothing to Docker or the state file')
    .addOption(new Option('-f, --format <format>', 'report format').choices(REPORT_FORMATS as string[]).default('text'))
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .option('--force', 'apply deactivations even past MAX_DEACTIVATIONS / MAX_DEACTIVATION_PERCENT, this run only')
    .option('--no-deactivate', 'plan and report deactivations but apply none (like DEACTIVATE=false)')
    .action(async (opts) => {
      process.exitCode = await syncCommand(ctx(program), opts, shutdownSignal());
    });

  program
    .command('daemon')
    .description('Run as a long-running worker: sync at start and on SCHEDULE, serve /healthz, /readyz and /metrics, send alerts; stop on SIGTERM')
    .action(async () => {
      process.exitCode = await daemonCommand(ctx(program));
    });

  program
    .command('validate-config')
    .description('Load and validate the configuration; print each value and where it came from (secrets hidden)')
    .action(() => {
      process.exitCode = validateConfigCommand(ctx(program));
    });

  program
    .command('status')
    .description('Show managed accounts and recent runs from the state file')
    .option('-n, --limit <n>', 'runs to show', int('--limit'), 10)
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((opts) => {
      process.exitCode = statusCommand(ctx(program), opts);
    });

  program
    .command('state')
    .description('Maintain the state file')
    .command('rebuild')
    .description('Re-link accounts from Docker by userName into a fresh state file (for a lost or corrupt one); try --dry-run first')
    .option('--dry-run', 'show what would be linked; write nothing')
    .option('--force', 'rebuild even though the current state file is readable (it is kept as a .bak copy)')
    .option('--adopt-unproven', 'with ADOPT_EXISTING=false, also link the userName matches the state file has no proof this tool manages (check the list first)')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (opts) => {
      process.exitCode = await stateRebuildCommand(ctx(program), opts);
    });

  program
    .command('demo')
    .description('Run the whole product on the built-in emulators (no credentials needed)')
    .addOption(new Option('-s, --source <source>', 'which IdP to emulate').choices(['okta', 'entra']).default('okta'))
    // The demo's story needs a few ordinary people besides the deliberately bad records.
    .option('--users <n>', 'seeded users (10 or more)', int('--users', 10), 20)
    .addOption(new Option('-f, --format <format>', 'report format').choices(REPORT_FORMATS as string[]).default('text'))
    .option('--keep', 'keep the demo state file')
    .action(async (opts) => {
      const global = program.opts<GlobalOptions>();
      process.exitCode = await demoCommand({ ...opts, ...(global.logLevel ? { logLevel: global.logLevel } : {}) });
    });

  program
    .command('sandbox')
    .description('Start an IdP emulator (Okta or Microsoft Graph) and the Docker SCIM emulator with seeded users, print their URLs and credentials, run until Ctrl-C')
    .addOption(new Option('-s, --source <source>', 'which IdP to emulate').choices(['okta', 'entra']).default('okta'))
    .option('--idp-port <port>', 'IdP emulator port (0: any free port)', int('--idp-port'), 0)
    .option('--docker-port <port>', 'Docker SCIM emulator port (0: any free port)', int('--docker-port'), 0)
    .option('--users <n>', 'seeded users', int('--users'), 50)
    .option('--seed <n>', 'random seed of the generated data', int('--seed'), 1)
    .option('--no-edge-cases', 'leave out the deliberately bad records')
    .action(async (opts) => {
      process.exitCode = await sandboxCommand(opts);
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  // An error thrown outside the command's promise (an emitter with no listener, say) is told the
  // same way, not as Node's stack dump.
  process.on('uncaughtException', (err) => {
    reportFailure(err, program);
    process.exit(1);
  });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = 1;
    reportFailure(err, program);
  }
}

/** One message on stderr; for a bug, its stack too, in the log at debug level (scrubbed there). */
function reportFailure(err: unknown, program: Command): void {
  const scrub = context?.scrub ?? ((s: string) => s);
  if (err instanceof AppError) {
    context?.logger.error({ system: err.system, operation: err.operation, status: err.status, code: err.remoteCode }, scrub(err.message));
  } else if (!isExpected(err)) {
    (context?.logger ?? fallbackLogger(program)).debug({ err }, 'the unexpected failure, with its stack');
  }
  process.stderr.write(`${scrub(failureText(err))}\n`);
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Before the configuration has loaded there is no logger yet: the level comes from the flag or LOG_LEVEL. */
function fallbackLogger(program: Command): Logger {
  const wanted = program.opts<GlobalOptions>().logLevel ?? process.env['LOG_LEVEL']?.trim().toLowerCase() ?? 'info';
  return createLogger({ level: LEVELS.includes(wanted) ? wanted : 'info' });
}

// Before any command: on an unsupported Node the SQLite driver would crash without a word, mid-run.
const unsupported = unsupportedNode();
if (unsupported) {
  process.stderr.write(`error: ${unsupported}\n`);
  process.exitCode = 1;
} else {
  await main(process.argv);
}
