import { startDaemon } from '../daemon/daemon.ts';
import type { CommandContext } from './context.ts';

/**
 * `daemon`: runs until SIGTERM or SIGINT, then exits 0 once the writes in flight are journaled
 * (SHUTDOWN_TIMEOUT at most). A second signal exits at once: the journal makes that safe too.
 */
export async function daemonCommand(ctx: CommandContext): Promise<number> {
  const daemon = await startDaemon(ctx);
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals += 1;
    if (signals === 1) daemon.stop(`received ${sig}`);
    else {
      ctx.logger.warn(`received ${sig} again: exiting now`);
      process.exit(130);
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const code = await daemon.done;
  // A request that outlived SHUTDOWN_TIMEOUT may hold a socket open; the journal has what matters.
  process.exit(code);
}
