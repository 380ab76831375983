// The columns of a format 2 event chunk body laid out as format 1 did (the
// columns concatenated, the time column led by its scale and the string
// column by the string table): the same bytes less the msgpack framing. The
// benches compare the two under the same compressor to measure the framing.

import { ByteWriter, utf8 } from "../src/trace/bytes.ts";
import { packr } from "../src/trace/format.ts";

export function format1Body(v2: Uint8Array): Uint8Array {
  const [, , scale, strs, ...cols] = packr.unpack(v2) as [number, number, number, string[], ...Uint8Array[]];
  const w = new ByteWriter();
  cols.slice(0, 8).forEach((col, i) => {
    if (i === 3) w.uvar(scale); // time
    if (i === 7) {
      // s: the string table first
      w.uvar(strs.length);
      for (const s of strs) {
        const b = utf8(s);
        w.uvar(b.length);
        w.bytes(b);
      }
    }
    w.bytes(col);
  });
  return w.toBytes();
}
