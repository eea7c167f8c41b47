/**
 * Graph's side of the shared pacer: one quota per app and tenant (entra-graph.md §3), read from the
 * headers of every answer, and of every item inside a `$batch` answer, where Graph evaluates each
 * item against the quota on its own and reports it there.
 */
import { GraphQuota, combineUsage, graphUsage, type GraphUsage } from './graph-quota.ts';
import { Pacer, type OnPaceWait, type QuotaReading, type Ticket } from './pacer.ts';
import { throttlePauseMs } from './policy.ts';
import type { Sleep } from './sleep.ts';
import { GRAPH } from './systems.ts';
import type { HeaderSource } from './wait-time.ts';

const BUCKET = 'graph';
/**
 * A thirtieth of the learnt quota left unused: room for the probes that find the next window,
 * and for other apps of the tenant, which share the tenant's quotas.
 */
const RESERVE_SHARE = 0.03;

/** A request as far as its cost is concerned. */
export interface GraphRequest {
  method: string;
  url: string;
  /** The body as sent (the SDK serialises JSON to a string). */
  body: unknown;
}

export interface GraphAnswer {
  status: number;
  headers: HeaderSource;
  /** The body, for a `$batch` answer: its items carry their own quota headers. */
  body: ArrayBuffer | null;
}

/** A ticket of the pacer, and whether its request was a `$batch`. */
export interface GraphTicket extends Ticket {
  readonly batch: boolean;
}

export class GraphPacing {
  private readonly now: () => number;
  private readonly quota = new GraphQuota();
  private readonly pacer: Pacer;

  constructor(opts: { now?: () => number; sleep?: Sleep } = {}) {
    this.now = opts.now ?? Date.now;
    this.pacer = new Pacer({
      reserve: (limit) => (Number.isFinite(limit) ? Math.ceil(limit * RESERVE_SHARE) : 0),
      // The window is inferred, never stated: once the guess of its end has passed, one request
      // finds out whether it has turned over.
      afterReset: 'probe',
      // Unused with 'probe'; Graph's documented window, should it ever be.
      assumedWindowMs: 10_000,
      learnFirst: false,
      resetMarginMs: 0,
      maxWaitMs: GRAPH.maxServerWaitMs,
      now: this.now,
      ...(opts.sleep ? { sleep: opts.sleep } : {}),
    });
  }

  /**
   * Waits for room for `request`, then counts it as sent; null when shutdown ended the wait. A
   * `$batch` costs about one unit an item (`users/{id}` with `$select` is 1, §3), anything else one
   * until its answer says.
   */
  async take(request: GraphRequest, signal: AbortSignal | undefined, onWait?: OnPaceWait): Promise<GraphTicket | null> {
    const batch = isBatch(request);
    const ticket = await this.pacer.take(BUCKET, batch ? batchItemCount(request.body) : 1, signal, onWait);
    return ticket === null ? null : { ...ticket, batch };
  }

  /** The request of `ticket` got `answer` (null: no answer at all). */
  settle(ticket: GraphTicket, answer: GraphAnswer | null): void {
    this.pacer.settle(ticket, answer === null ? null : this.reading(ticket, answer));
  }

  /** Every request waits until `untilMs`: a 429 said the app's quota is spent. */
  pause(untilMs: number): void {
    this.pacer.pause(BUCKET, untilMs);
  }

  /** What is believed about the quota, for tests and logs. */
  inspect(): ReturnType<GraphQuota['inspect']> & { pacer: ReturnType<Pacer['inspect']> } {
    return { ...this.quota.inspect(), pacer: this.pacer.inspect(BUCKET) };
  }

  private reading(ticket: GraphTicket, answer: GraphAnswer): QuotaReading | null {
    const now = this.now();
    const items = ticket.batch && answer.status === 200 && answer.body !== null ? batchItems(parseJson(answer.body)) : null;
    const outer = graphUsage(answer.headers);
    let usage: GraphUsage | null = outer;
    if (items !== null && items.length > 0) {
      // The answered items' costs and percentages (and the outer answer's percentage, should Graph
      // add one). A throttled item's missing percentage does not mean "below 80 %".
      const answered = items.filter((i) => i.status !== 429);
      const inner = answered.length > 0 ? combineUsage(answered.map((i) => i.usage ?? { cost: 0, fill: null, rounding: 0 })) : null;
      usage = inner && outer?.fill != null && (inner.fill ?? 0) < outer.fill ? { cost: inner.cost, fill: outer.fill, rounding: outer.rounding } : inner;
    }
    const throttled = answer.status === 429 ? [answer.headers] : (items ?? []).filter((i) => i.status === 429).map((i) => i.headers);
    // Only an answer Graph served says how full the quota is; an error's missing percentage does not.
    const reading = usage === null || answer.status >= 400 ? null : this.quota.observe(usage, ticket.sentAt, now);
    if (throttled.length === 0) return reading;
    const waits = throttled.map((h) => throttlePauseMs(GRAPH, h, now)).filter((ms): ms is number => ms !== null);
    const waitMs = waits.length > 0 ? Math.max(...waits) : null;
    // The request (or, for items inside a 200, the batch reader) retries after the longest
    // Retry-After; every other request waits as long, rather than collect 429s of its own. Paused
    // here, before the requests waiting on this answer are woken.
    if (waitMs !== null) this.pause(now + waitMs);
    return this.quota.throttled(waitMs, ticket.sentAt, now);
  }
}

interface BatchItem {
  status: number;
  headers: HeaderSource;
  usage: GraphUsage | null;
}

/** The items of a `$batch` answer, as far as the quota is concerned; null when it is not one. */
function batchItems(body: unknown): BatchItem[] | null {
  const responses = (body as { responses?: unknown } | null)?.responses;
  if (!Array.isArray(responses)) return null;
  const out: BatchItem[] = [];
  for (const r of responses) {
    if (!r || typeof r !== 'object') continue;
    const o = r as { status?: unknown; headers?: unknown };
    const raw = o.headers && typeof o.headers === 'object' ? (o.headers as Record<string, unknown>) : {};
    // Graph writes item headers in mixed case (`Retry-After`, `x-ms-resource-unit`).
    const lower = new Map(Object.entries(raw).map(([k, v]) => [k.toLowerCase(), String(v)]));
    const headers: HeaderSource = { get: (name) => lower.get(name.toLowerCase()) ?? null };
    out.push({ status: typeof o.status === 'number' ? o.status : 0, headers, usage: graphUsage(headers) });
  }
  return out;
}

function isBatch(request: GraphRequest): boolean {
  if (request.method.toUpperCase() !== 'POST') return false;
  try {
    return /\/\$batch$/.test(new URL(request.url).pathname);
  } catch {
    return false;
  }
}

function parseJson(body: ArrayBuffer): unknown {
  try {
    return JSON.parse(Buffer.from(body).toString('utf8')) as unknown;
  } catch {
    return null;
  }
}

/** How many items a `$batch` request body carries. */
function batchItemCount(body: unknown): number {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body) as unknown;
    } catch {
      return 1;
    }
  }
  const requests = (parsed as { requests?: unknown } | null)?.requests;
  return Array.isArray(requests) ? Math.max(1, requests.length) : 1;
}
