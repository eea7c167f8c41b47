/**
 * The Node.js versions this tool runs on, checked before anything else loads. Below them it does
 * not fail politely: better-sqlite3's prebuilt addon needs Node-API 10 (Node 22.14+), and Node
 * 22.12–22.13 crash with a bare segmentation fault when it loads, mid-run; the TLS trust of
 * src/util/tls.ts needs 22.19+ / 24.5+. 22.19+ passed once when measured (docs/runtime.md), but CI
 * tests Node 24 only, so only 24.5+ is claimed. Keep in step with `engines` in package.json (a test
 * checks both).
 */
export const SUPPORTED_NODE = '>=24.5.0';

/** Why this Node cannot run the tool, or null when it can. */
export function unsupportedNode(version: string = process.versions.node, napi: string | undefined = process.versions.napi): string | null {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const ok = (major === 24 && minor >= 5) || major > 24;
  if (ok && Number(napi ?? 0) >= 10) return null;
  return `docker-idp-sync needs Node.js ${SUPPORTED_NODE} (Node 24 LTS recommended); this is Node.js ${version}${Number(napi ?? 0) < 10 ? `, whose Node-API ${napi ?? '?'} is too old for the SQLite driver (it would crash)` : ''}. Install Node 24 LTS, or use the container image.`;
}
