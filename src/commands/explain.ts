import { explainJson, explainText } from '../report/explain.ts';
import { explainEmail } from '../run/explain.ts';
import { createDockerClient, createSource, sourceIdentity } from '../run/factory.ts';
import { openState } from '../state/open.ts';
import type { CommandContext } from './context.ts';
import { checkOutput, writeReport } from './output.ts';

export interface ExplainCommandOptions {
  format?: 'text' | 'json';
  output?: string;
}

/**
 * `explain EMAIL`: reads the IdP and Docker for that person and prints how each decision about them
 * came about (run/explain.ts). The state file is read through an in-memory copy and Docker gets
 * reads only: nothing is written anywhere, whatever the answer.
 */
export async function explainCommand(ctx: CommandContext, email: string, opts: ExplainCommandOptions, signal?: AbortSignal): Promise<number> {
  const { config, logger } = ctx;
  checkOutput(opts.output);
  const state = openState({ path: config.state.db, dryRun: true, scrub: ctx.scrub });
  try {
    const io = signal ? { signal } : {};
    const explanation = await explainEmail({ config, source: createSource(config, logger, io), docker: createDockerClient(config, logger, io), state, logger, sourceIdentity: sourceIdentity(config) }, email, signal);
    await writeReport([opts.format === 'json' ? explainJson(explanation) : explainText(explanation)], opts.output, ctx.scrub);
    return 0;
  } finally {
    state.close();
  }
}
