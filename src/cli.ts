#!/usr/bin/env node
// Each command's module is imported when that command runs: `status` need not load the Okta SDK,
// nor `sync` the emulators; a start-up of the CLI costs a third of what it did.
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadContext, loadStateContext, type CommandContext, type GlobalOptions, type StateContext } from './commands/context.ts';
import { failureText, Interrupted, isExpected } from './logging/failure.ts';
import { createLogger, type Logger } from './logging/logger.ts';
import { AppError } from './model/errors.ts';
import { REPORT_FORMATS } from './report/index.ts';
import { tuneHeap } from './heap.ts';
import { unsupportedNode } from './runtime.ts';
import { TOOL_VERSION } from './version.ts';

/**
 * Commands and exit codes. Exit codes (README "Exit codes"):
 *   0  success (for --dry-run: nothing to change)
 *   1  error: bad configuration, an unreadable IdP or Docker, an unusable state file, or an
 *      operation that failed
 *   2  --dry-run found changes to make
 *   3  a safety guard held deactivations back (everything else was applied)
 *   4  findings at FAIL_ON severity (default: error, e.g. users held for bad IdP data); everything
 *      else was applied, or, for --dry-run, there is nothing to change
 *   5  apply: the reviewed plan is stale (what it depends on changed); nothing was applied
 */


function int(name: string, min = 0) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number`);
    if (n < min) throw new InvalidArgumentError(`${name} must be at least ${min}`);
    return n;
  };
}

/** What the failing command had loaded: its logger and scrubber report the failure. */
let context: Pick<CommandContext, 'logger' | 'scrub'> | null = null;

function ctx(program: Command): CommandContext {
  const full = loadContext(program.opts<GlobalOptions>());
  context = full;
  return full;
}

/** For commands that only read the state file: STATE_DB and the log settings are enough. */
function stateCtx(program: Command): StateContext {
  const loaded = loadStateContext(program.opts<GlobalOptions>());
  context = loaded;
  return loaded;
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
    .version(TOOL_VERSION)
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
    .option('--force-last-owner', 'let this run demote, deactivate or move the last owner of a Docker org (held otherwise, so nobody is locked out)')
    .option('--no-deactivate', 'plan and report deactivations but apply none (like DEACTIVATE=false)')
    .option('--incremental', 'read only what the IdP\'s change feed names since the last run (as the daemon does); reads everything when a full run is due (FULL_SYNC_EVERY) or the feed cannot be followed')
    .addOption(
      new Option('--user <email>', 'only this person, now (provision on demand), with the same guards and journal; repeat for a few people; the change feed is left where it was')
        .argParser((v: string, prev: string[] = []) => [...prev, v])
        .conflicts('incremental'),
    )
    .action(async (opts) => {
      process.exitCode = await (await import('./commands/sync.ts')).syncCommand(ctx(program), opts, shutdownSignal());
    });

  program
    .command('explain')
    .description('For one person: how the IdP assigns them, where their role, organization and teams come from (and which row of Docker\'s table applied), what Docker holds, what the next sync would do and why, and their last operations. A dry run: writes nothing anywhere')
    .argument('<email>', 'the person\'s email (their Docker userName)')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('-o, --output <file>', 'write the explanation to a file instead of stdout')
    .action(async (email: string, opts) => {
      process.exitCode = await (await import('./commands/explain.ts')).explainCommand(ctx(program), email, opts, shutdownSignal());
    });

  program
    .command('plan')
    .description('The dry run of sync --dry-run, and the plan saved to a file for review; `apply FILE` applies exactly it')
    .requiredOption('--out <file>', 'write the plan here (0600), for `apply`')
    .option('--force-last-owner', 'plan the removal of the last owner of a Docker org instead of holding it; `apply` needs the flag too')
    .addOption(new Option('-f, --format <format>', 'report format').choices(REPORT_FORMATS as string[]).default('text'))
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .action(async (opts) => {
      process.exitCode = await (await import('./commands/plan.ts')).planCommand(ctx(program), opts, shutdownSignal());
    });

  program
    .command('apply')
    .description('Apply a plan saved by `plan --out`, exactly as reviewed, or nothing if Docker or the IdP changed what it depends on (exit 5)')
    .argument('<file>', 'the plan file')
    .option('--force', 'apply a plan that trips MAX_DEACTIVATIONS / MAX_DEACTIVATION_PERCENT, as sync --force')
    .option('--force-last-owner', 'apply a plan made with `plan --force-last-owner` (without it such a plan is stale: the owner would be held now)')
    .addOption(new Option('-f, --format <format>', 'report format').choices(REPORT_FORMATS as string[]).default('text'))
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .action(async (file: string, opts) => {
      process.exitCode = await (await import('./commands/apply.ts')).applyCommand(ctx(program), file, opts, shutdownSignal());
    });

  program
    .command('daemon')
    .description('Run as a long-running worker: sync at start and on SCHEDULE, serve /healthz, /readyz and /metrics, send alerts; stop on SIGTERM')
    .action(async () => {
      process.exitCode = await (await import('./commands/daemon.ts')).daemonCommand(ctx(program));
    });

  program
    .command('doctor')
    .description('Check the whole setup, one line per check with the fix: configuration, reachability, clock, IdP credentials and data, Docker token and capabilities, state file. Writes nothing anywhere; exit 1 if a check failed')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (opts) => {
      process.exitCode = await (await import('./commands/doctor.ts')).doctorCommand(program.opts(), opts);
    });

  program
    .command('validate-config')
    .description('Load and validate the configuration; print each value and where it came from (secrets hidden)')
    .action(async () => {
      process.exitCode = await (await import('./commands/validate-config.ts')).validateConfigCommand(ctx(program));
    });

  // status and report only read the state file: they load STATE_DB and the log settings, not the
  // IdP or Docker credentials (any secret that is set is still scrubbed from what they print).
  program
    .command('status')
    .description('Show managed accounts, recent runs with their counts, and the journal of an interrupted run (needs only STATE_DB)')
    .option('-n, --limit <n>', 'runs to show', int('--limit', 1), 10)
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (opts) => {
      process.exitCode = await (await import('./commands/status.ts')).statusCommand(stateCtx(program), opts);
    });

  program
    .command('report')
    .description('Print a stored run again, exactly as sync printed it: the last finished run, or one by id from `status` (needs only STATE_DB)')
    .option('--last', 'the newest finished run (the default)')
    .addOption(new Option('--run <id>', 'the run with this id (see `status`)').conflicts('last'))
    .addOption(new Option('-f, --format <format>', 'report format').choices(REPORT_FORMATS as string[]).default('text'))
    .option('-o, --output <file>', 'write the report to a file (0600) instead of stdout')
    .action(async (opts) => {
      process.exitCode = await (await import('./commands/report.ts')).reportCommand(stateCtx(program), opts);
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
      process.exitCode = await (await import('./commands/state-rebuild.ts')).stateRebuildCommand(ctx(program), opts);
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
      process.exitCode = await (await import('./commands/demo.ts')).demoCommand({ ...opts, ...(global.logLevel ? { logLevel: global.logLevel } : {}) });
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
      process.exitCode = await (await import('./commands/sandbox.ts')).sandboxCommand(opts);
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
  tuneHeap();
  await main(process.argv);
}
