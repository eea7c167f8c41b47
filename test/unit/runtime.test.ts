import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SUPPORTED_NODE, unsupportedNode } from '../../src/runtime.ts';

describe('the Node.js version check at start-up', () => {
  it.each([
    ['22.12.0', '9'],
    ['22.13.1', '9'],
    ['22.18.0', '10'],
    ['23.11.0', '10'],
    ['24.0.0', '10'],
    ['24.4.1', '10'],
    ['20.20.2', '9'],
    // It ran when measured, but CI does not test it: not claimed.
    ['22.19.0', '10'],
    ['22.23.5', '10'],
  ])('refuses Node %s with a message that says what to install', (version, napi) => {
    const why = unsupportedNode(version, napi);
    expect(why).toContain(`this is Node.js ${version}`);
    expect(why).toContain('Install Node 24 LTS');
  });

  it.each([
    ['24.5.0', '10'],
    ['24.22.3', '10'],
    ['26.12.1', '10'],
  ])('runs on Node %s', (version, napi) => {
    expect(unsupportedNode(version, napi)).toBeNull();
  });

  it('says why when Node-API is too old for the SQLite driver', () => {
    expect(unsupportedNode('22.13.0', '9')).toMatch(/Node-API 9 is too old for the SQLite driver/);
  });

  it('package.json engines says exactly what the check accepts', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
    expect(pkg.engines.node).toBe(SUPPORTED_NODE);
  });

  it('the Node running these tests passes its own check', () => {
    expect(unsupportedNode()).toBeNull();
  });
});
