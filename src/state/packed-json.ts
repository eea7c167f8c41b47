import { constants, crc32, deflateRawSync } from 'node:zlib';

/**
 * A large value (a run result) stored as gzip-compressed JSON, made in pieces. A first sync of
 * 100,000 users has a 60 MB result; `JSON.stringify` of it whole, then a scrubbed copy, then the
 * UTF-8 bytes gzip reads, held together for a moment, was 150 MB of the run's peak memory. Here the
 * JSON is made one array element at a time, and scrubbed and compressed a slice at a time.
 *
 * The slices go into one gzip stream, as `gzipSync` of the whole text would make (what schema 3
 * readers expect): each slice is deflated on its own and flushed to a byte boundary without ending
 * the stream, which makes the deflated slices one valid stream laid end to end (RFC 1951 §3.2.3;
 * a slice's back-references never reach into the one before), and the CRC and length in the
 * trailer cover the whole text, so a slice lost or damaged on disk fails the read as a whole.
 *
 * The text is exactly `JSON.stringify(value)`. Slices end only between pieces, and a piece is a
 * whole JSON value, key or punctuation, so a secret inside any string is scrubbed as it would have
 * been in the whole text.
 */

/** Characters of JSON compressed at a time: large enough that the cut costs next to nothing in size. */
const SLICE_CHARS = 256 * 1024;

/** A gzip member's header: deflate, no name, no time, made on an unknown system (RFC 1952 §2.3). */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff]);

export interface PackOptions {
  /** Applied to each slice of the JSON text before it is compressed (state/store.ts `text`). */
  readonly scrub?: (text: string) => string;
  /** For tests: slices this small make many of a small value. */
  readonly sliceChars?: number;
}

export function packJson(value: unknown, opts: PackOptions = {}): Buffer {
  const scrub = opts.scrub ?? ((t: string) => t);
  const limit = opts.sliceChars ?? SLICE_CHARS;
  const out: Buffer[] = [GZIP_HEADER];
  let crc = 0;
  let bytes = 0;
  let pending: string[] = [];
  let size = 0;
  const flush = () => {
    if (pending.length === 0) return;
    const slice = Buffer.from(scrub(pending.join('')), 'utf8');
    pending = [];
    size = 0;
    crc = crc32(slice, crc);
    bytes += slice.length;
    // At gzip's fastest level: a few MB instead of 60, and the run waits on it.
    out.push(deflateRawSync(slice, { level: 1, finishFlush: constants.Z_SYNC_FLUSH }));
  };
  writeJson(value, SPLIT_DEPTH, (piece) => {
    pending.push(piece);
    size += piece.length;
    if (size >= limit) flush();
  });
  flush();
  // The last block, empty, then the trailer: CRC-32 and length (mod 2^32) of the whole text.
  out.push(deflateRawSync(Buffer.alloc(0), { finishFlush: constants.Z_FINISH }));
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(bytes % 2 ** 32, 4);
  out.push(trailer);
  return Buffer.concat(out);
}

/**
 * How deep arrays and objects are taken apart: a run result, its plan, the plan's operations
 * (and the results), one operation each. Below that a piece is one `JSON.stringify` call.
 */
const SPLIT_DEPTH = 3;

/** Writes `JSON.stringify(value)` as pieces; containers above `depth` levels are opened up. */
function writeJson(value: unknown, depth: number, out: (piece: string) => void): void {
  if (depth > 0 && Array.isArray(value)) {
    out('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out(',');
      const item: unknown = value[i];
      // What JSON.stringify cannot write becomes null in an array.
      if (omitted(item)) out('null');
      else writeJson(item, depth - 1, out);
    }
    out(']');
    return;
  }
  if (depth > 0 && isPlainObject(value)) {
    out('{');
    let first = true;
    for (const [key, item] of Object.entries(value)) {
      // ...and is left out of an object.
      if (omitted(item)) continue;
      out(`${first ? '' : ','}${JSON.stringify(key)}:`);
      first = false;
      writeJson(item, depth - 1, out);
    }
    out('}');
    return;
  }
  out(JSON.stringify(value) ?? 'null');
}

function omitted(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

/** An object JSON.stringify writes key by key: not one with its own toJSON (a Date, say). */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
}
