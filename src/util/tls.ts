import tls from 'node:tls';

/**
 * Adds certificates to the ones this process trusts, for every TLS client in it: node:https (the
 * Azure credential) and fetch (the Graph client), per reference entra-graph.md §5.6. For a
 * TLS-inspecting proxy's CA, or the sandbox emulator's. Verification itself is never turned off.
 * Needs Node ≥ 22.19 / 24.5 (tls.setDefaultCACertificates); older Node can use NODE_EXTRA_CA_CERTS.
 */
export function trustCertificates(pems: readonly string[]): void {
  if (pems.length === 0) return;
  const api = tls as typeof tls & {
    setDefaultCACertificates?: (certs: string[]) => void;
    getCACertificates?: (type?: 'default' | 'system' | 'bundled' | 'extra') => string[];
  };
  if (typeof api.setDefaultCACertificates !== 'function' || typeof api.getCACertificates !== 'function') {
    throw new Error('this Node.js cannot add trusted certificates at run time (needs 22.19+ or 24.5+); start it with NODE_EXTRA_CA_CERTS=<file> instead');
  }
  const current = api.getCACertificates('default');
  const add = pems.filter((p) => !current.includes(p));
  if (add.length) api.setDefaultCACertificates([...current, ...add]);
}
