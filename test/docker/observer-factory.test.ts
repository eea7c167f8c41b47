import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { createDockerClient, createSource } from '../../src/run/factory.ts';
import { startWorld, type World } from '../../src/sandbox/world.ts';
import { trustCertificates } from '../../src/util/tls.ts';
import { CountingObserver } from './observer-counter.ts';

/**
 * A run's ClientIo (the daemon's metrics observer and shutdown signal) reaches the clients that
 * run/factory.ts builds from the configuration, for either source.
 */

for (const source of ['okta', 'entra'] as const) {
  describe(`createSource and createDockerClient pass ClientIo on (${source})`, () => {
    let world: World;
    beforeAll(async () => {
      world = await startWorld({ source, seed: { users: 4, teamGroups: 1 } });
      if (world.caPem) trustCertificates([world.caPem]);
    });
    afterAll(() => world.stop());
    const config = () => loadConfig({ env: { ...world.env, STATE_DB: '/nonexistent/never-opened.db' } });

    it('the observer sees both clients\' requests and listings', async () => {
      const observer = new CountingObserver();
      await createSource(config(), silentLogger(), { observer }).read();
      await createDockerClient(config(), silentLogger(), { observer }).snapshot();
      expect(observer.requests).toContain(`${source} GET 200`);
      expect(observer.requests).toContain('docker GET 200');
      expect(observer.pages.some((p) => p.system === source)).toBe(true);
      expect(observer.pages.some((p) => p.system === 'docker')).toBe(true);
    });

    it('an aborted signal stops both reads before anything is asked', async () => {
      const shutdown = new AbortController();
      shutdown.abort();
      const before = world.idp.requests.length + world.docker.http.requests.length;
      await expect(createSource(config(), silentLogger(), { signal: shutdown.signal }).read()).rejects.toThrow(/cancelled/);
      await expect(createDockerClient(config(), silentLogger(), { signal: shutdown.signal }).snapshot()).rejects.toMatchObject({ code: 'DOCKER_ABORTED' });
      expect(world.idp.requests.length + world.docker.http.requests.length).toBe(before);
    });
  });
}
