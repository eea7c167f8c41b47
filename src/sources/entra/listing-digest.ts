import { createHash } from 'node:crypto';

/**
 * A digest of an app's assignment listing as it was read: the type, principal and app role of each
 * assignment, in listing order. Graph has no delta for assignments (entra-graph.md §1.5), so each
 * incremental run lists them again; an equal digest (SHA-256) says the listing is the one the cursor
 * holds, without unpacking and comparing 100,000 entries. A listing that comes back in another order
 * gets another digest, which only costs the entry-by-entry comparison. Pure: no I/O.
 */
export interface ListingDigest {
  add(type: string, principalId: string, roleId: string): void;
  /** Ends a page: its text goes into the hash, one call a page rather than one an assignment. */
  page(): void;
  value(): string;
}

export function listingDigest(): ListingDigest {
  const hash = createHash('sha256');
  let text = '';
  return {
    add(type, principalId, roleId) {
      // Each field's length first: no value, whatever characters it holds, can pass for two.
      text += `${type.length}:${type}${principalId.length}:${principalId}${roleId.length}:${roleId}`;
    },
    page() {
      hash.update(text);
      text = '';
    },
    value() {
      hash.update(text);
      text = '';
      return hash.digest('base64url');
    },
  };
}
