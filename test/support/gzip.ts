// gzip-wraps bytes with the trace layer's deterministic DEFLATE (as the
// writer does for .gz paths).
import { ByteWriter } from "../../src/trace/bytes.ts";
import { crc32 } from "../../src/trace/crc32.ts";
import { DeflateStream } from "../../src/trace/deflate.ts";

export function gzipTrace(raw: Uint8Array): Uint8Array {
  const ds = new DeflateStream(new ByteWriter(raw.length + 1024));
  ds.block(raw, true);
  const body = ds.take();
  const out = new Uint8Array(10 + body.length + 8);
  out.set([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
  out.set(body, 10);
  const dv = new DataView(out.buffer);
  dv.setUint32(10 + body.length, crc32(raw), true);
  dv.setUint32(14 + body.length, raw.length >>> 0, true);
  return out;
}
