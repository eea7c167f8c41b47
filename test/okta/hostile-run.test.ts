import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceReadError } from '../../src/model/errors.ts';
import { Scenario } from '../support/harness.ts';
import { rejectionOf } from '../support/logs.ts';
import { ForwardingProxy, Recorder, editJson, type Answer } from '../support/proxy.ts';

/**
 * The hostile-upstream rules end to end, through the code path the CLI runs (issue 13): OKTA_ORG_URL
 * is a proxy in front of the Okta emulator that turns hostile after a first good sync. With the
 * deactivation guards wide open, only the read's refusal stands between a hostile answer and
 * deactivated or changed accounts: the run must fail before planning, write nothing to Docker and
 * deactivate nobody.
 */

/** Two pages of app users (500 a page): losing page 2 would make 100 managed users look unassigned. */
const USERS = 600;
const GUARDS_OPEN = { MAX_DEACTIVATIONS: '100000', MAX_DEACTIVATION_PERCENT: '100', IDP_MAX_RETRIES: '1', IDP_TIMEOUT_SECONDS: '5' };
const USERS_PATH = /^\/api\/v1\/apps\/[^/]+\/users(\?|$)/;

let s: Scenario;
let proxy: ForwardingProxy;
let elsewhere: Recorder;
let managed = 0;

beforeAll(async () => {
  s = await Scenario.start({ source: 'okta' });
  for (let i = 0; i < USERS; i++) s.directory.addUser({ email: `user${i}@example.com`, givenName: 'U', familyName: String(i) });
  const okta = s.world.okta;
  if (!okta) throw new Error('no Okta emulator in the world');
  proxy = new ForwardingProxy({ target: okta.baseUrl });
  await proxy.start();
  // "Elsewhere" answers like an Okta page with nobody on it, the most harmful thing a followed link could bring back.
  elsewhere = new Recorder();
  elsewhere.answer = () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '[]' });
  await elsewhere.start();
  const first = await s.sync({ env: { ...GUARDS_OPEN, OKTA_ORG_URL: proxy.origin } });
  if (first.outcome.exitCode !== 0) throw new Error(`the setup sync failed: ${first.report()}`);
  managed = s.state((st) => st.linkCount());
  if (managed !== USERS) throw new Error(`setup: ${managed} managed users, expected ${USERS}`);
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await elsewhere?.stop();
  await s?.stop();
});

function withNextLinkTo(origin: string) {
  return (answer: Answer, req: { url: string }): Answer => {
    if (!USERS_PATH.test(req.url) || req.url.includes('after=')) return answer;
    const links = ([] as string[]).concat(answer.headers.link ?? []);
    return { ...answer, headers: { ...answer.headers, link: links.map((l) => (l.includes('rel="next"') ? l.split(proxy.origin).join(origin) : l)) } };
  };
}

/** Page 1's records again and again, each time under a cursor never seen before. */
function freshCursorsOverTheSameRecords() {
  let first: Answer | null = null;
  let n = 0;
  return (answer: Answer, req: { url: string }): Answer => {
    if (!USERS_PATH.test(req.url)) return answer;
    first ??= answer;
    const path = new URL(req.url, proxy.origin).pathname;
    return { ...first, status: 200, headers: { ...first.headers, link: [`<${proxy.origin}${path}?limit=500&after=fresh${++n}>; rel="next"`] } };
  };
}

function expectNothingChanged(writes0: number): void {
  expect(s.docker.http.writes().length - writes0, 'write requests that reached Docker').toBe(0);
  expect(s.docker.allUsers().filter((u) => !u.active)).toEqual([]);
  expect(s.state((st) => st.linkCount())).toBe(managed);
  expect(elsewhere.requests).toHaveLength(0);
}

describe('a hostile Okta answer fails the run before planning: nothing written, nobody deactivated', () => {
  it.each<[string, () => (a: Answer, r: { url: string }) => Answer, RegExp]>([
    ['a paging link to another origin', () => withNextLinkTo(elsewhere.origin), /points to http:\/\/127\.0\.0\.1:\d+, which is not the origin of OKTA_ORG_URL/],
    ['fresh cursors over the same records', freshCursorsOverTheSameRecords, /every item on the page was already read/],
  ])('%s', async (_label, rewrite, says) => {
    proxy.reset();
    proxy.rewrite = rewrite();
    const writes0 = s.docker.http.writes().length;
    const err = await rejectionOf(s.sync({ env: { ...GUARDS_OPEN, OKTA_ORG_URL: proxy.origin } }));

    expect(err).toBeInstanceOf(SourceReadError);
    expect((err as SourceReadError).message).toMatch(says);
    expect(s.state((st) => st.recentRuns(1)[0]?.status)).toBe('failed');
    expectNothingChanged(writes0);
  });

  it('every user\'s status of the wrong type: not a read error, but everyone is held, so nobody is touched', async () => {
    proxy.reset();
    proxy.rewrite = (a, r) => (USERS_PATH.test(r.url) ? editJson(a, (body) => void (body as unknown as Array<Record<string, unknown>>).forEach((au) => (au.status = 0))) : a);
    const writes0 = s.docker.http.writes().length;
    const run = await s.sync({ env: { ...GUARDS_OPEN, OKTA_ORG_URL: proxy.origin } });

    const findings = run.plan.findings.filter((f) => f.code === 'ILL_TYPED_VALUE');
    expect(findings).toHaveLength(USERS);
    expect(findings[0]?.message).toContain('status is 0, but it must be a string');
    expectNothingChanged(writes0);
  });
});
