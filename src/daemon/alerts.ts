/**
 * When the daemon alerts, as a pure state machine: it is fed what happened and answers which
 * messages to send. An admin wants to hear once that syncing broke, once that it is back, once
 * that a safety hold needs a decision: not the same alert every 15 minutes until they act.
 */

export type AlertEvent = 'failure' | 'hold' | 'stale' | 'recovered' | 'changes';

export interface RunSummary {
  readonly runId: string | null;
  readonly status: 'succeeded' | 'partial' | 'held' | 'failed';
  /** Operations applied, by kind; failed operations counted apart. */
  readonly applied: number;
  readonly failed: number;
  readonly held: number;
  /** The run's error, one line, already scrubbed of secrets; for a failed run. */
  readonly error?: string;
}

export interface Alert {
  readonly event: AlertEvent;
  readonly text: string;
  readonly run?: RunSummary;
}

export class AlertPolicy {
  private failing = false;
  private holding = false;
  private staleSent = false;
  private readonly onChanges: boolean;
  private readonly source: string;

  constructor(opts: { source: string; notifyOnChanges: boolean }) {
    this.source = opts.source;
    this.onChanges = opts.notifyOnChanges;
  }

  /** After each run. A partial run (some operations failed) counts as failing, like a failed one. */
  runFinished(run: RunSummary): Alert[] {
    const out: Alert[] = [];
    const bad = run.status === 'failed' || run.status === 'partial';
    if (bad) {
      if (!this.failing) out.push({ event: 'failure', run, text: this.failureText(run) });
      this.failing = true;
    } else {
      // After failures, or after staleness with nothing failing (runs too slow): either way the
      // admin was told something is wrong, so they hear when it is right again.
      if (this.failing || this.staleSent) out.push({ event: 'recovered', run, text: `docker-idp-sync (${this.source}): syncing works again; run ${run.runId ?? ''} ${run.status}, ${run.applied} operation${run.applied === 1 ? '' : 's'} applied.` });
      this.failing = false;
      this.staleSent = false;
    }
    if (run.status === 'held') {
      if (!this.holding) {
        out.push({
          event: 'hold',
          run,
          text: `docker-idp-sync (${this.source}): the safety guard held back ${run.held} deactivation${run.held === 1 ? '' : 's'} (more than the threshold). Review \`docker-idp-sync report --last\`, then apply with \`sync --force\` or fix the IdP.`,
        });
      }
      this.holding = true;
    } else if (run.status !== 'failed') this.holding = false;
    if (this.onChanges && run.applied > 0 && !bad) {
      out.push({ event: 'changes', run, text: `docker-idp-sync (${this.source}): run ${run.runId ?? ''} applied ${run.applied} operation${run.applied === 1 ? '' : 's'} to Docker.` });
    }
    return out;
  }

  /** On a timer: once when no run has succeeded for STALE_AFTER, again only after a success. */
  staleness(stale: boolean, lastSuccess: Date | null, staleAfterMs: number): Alert[] {
    if (!stale || this.staleSent) return [];
    this.staleSent = true;
    const since = lastSuccess ? `since ${lastSuccess.toISOString()}` : 'since the daemon started';
    return [{ event: 'stale', text: `docker-idp-sync (${this.source}): no successful sync ${since} (STALE_AFTER ${Math.round(staleAfterMs / 60_000)} min). Docker may be out of step with the IdP.` }];
  }

  private failureText(run: RunSummary): string {
    if (run.status === 'partial') {
      return `docker-idp-sync (${this.source}): run ${run.runId ?? ''} finished with ${run.failed} failed operation${run.failed === 1 ? '' : 's'}. See \`docker-idp-sync report --last\`.`;
    }
    return `docker-idp-sync (${this.source}): a sync run failed${run.error ? `: ${run.error}` : ''}. The daemon retries on the next tick; you will hear when it works again.`;
  }
}
