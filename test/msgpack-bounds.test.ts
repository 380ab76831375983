// msgpackShape: a msgpack document's shape checked before it is unpacked.
import { describe, expect, it } from "vitest";
import { packr } from "../src/trace/format.ts";
import { msgpackShape, type ShapeLimits } from "../src/trace/msgpack-bounds.ts";

const LOOSE: ShapeLimits = { maxDepth: 8, maxContainers: 1000, maxItems: 10000 };

describe("msgpackShape", () => {
  it("accepts what the writer packs: maps with string keys, arrays, ints, floats, strings, nil, bools", () => {
    const doc = {
      seq: 5,
      time: 2 ** 40,
      f: 1.5,
      neg: -70000,
      s: "x".repeat(300),
      arr: [1, [2, [3]], { a: null, b: true, c: false }],
      big: 2 ** 33,
    };
    expect(msgpackShape(packr.pack(doc), LOOSE)).toBeNull();
    expect(msgpackShape(packr.pack([]), LOOSE)).toBeNull();
    expect(msgpackShape(packr.pack(7), LOOSE)).toBeNull();
  });

  it("refuses counts the bytes cannot hold, before anything is allocated", () => {
    // array32 claiming 4 billion items, map32 claiming 2^31 entries
    expect(msgpackShape(Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff, 1, 2), LOOSE)).toMatch(/claims 4294967295 items/);
    expect(msgpackShape(Uint8Array.of(0xdf, 0x80, 0, 0, 0, 0xa1, 0x61, 1), LOOSE)).toMatch(/claims 2147483648 items/);
    expect(msgpackShape(Uint8Array.of(0xdb, 0x7f, 0xff, 0xff, 0xff, 0x61), LOOSE)).toMatch(/runs past the end/);
  });

  it("refuses deep nesting without recursing, and too many containers or items", () => {
    const deep = new Uint8Array(200_000).fill(0x91);
    deep[deep.length - 1] = 0x90;
    expect(msgpackShape(deep, LOOSE)).toBe("nested deeper than 8");
    expect(msgpackShape(packr.pack([[[[[[[[[1]]]]]]]]]), LOOSE)).toBe("nested deeper than 8");
    expect(msgpackShape(packr.pack([[[[[[[[1]]]]]]]]), LOOSE)).toBeNull();
    const empties = new Uint8Array(1 + 2 + 5000).fill(0x90);
    empties[0] = 0xdc;
    empties[1] = 5000 >> 8;
    empties[2] = 5000 & 0xff;
    expect(msgpackShape(empties, LOOSE)).toBe("more than 1000 arrays and maps");
    expect(msgpackShape(packr.pack(new Array(20000).fill(0)), LOOSE)).toBe("more than 10000 items");
  });

  it("refuses extension types, non-string keys, truncation and trailing bytes", () => {
    expect(msgpackShape(Uint8Array.of(0xd4, 0x01, 0x00), LOOSE)).toMatch(/extension type/);
    expect(msgpackShape(Uint8Array.of(0xc7, 0x01, 0x01, 0x00), LOOSE)).toMatch(/extension type/);
    expect(msgpackShape(Uint8Array.of(0xc1), LOOSE)).toMatch(/c1/);
    expect(msgpackShape(Uint8Array.of(0x81, 0x01, 0x02), LOOSE)).toMatch(/not a string/);
    const ok = packr.pack({ a: [1, 2, 3] });
    for (let cut = 0; cut < ok.length; cut++)
      expect(msgpackShape(ok.subarray(0, cut), LOOSE), `cut ${cut}`).not.toBeNull();
    expect(msgpackShape(Uint8Array.from([...ok, 0]), LOOSE)).toMatch(/left over/);
  });
});

describe("a format 2 event chunk body is shape-checked before it is unpacked", () => {
  it("deep nesting or a flood of empty arrays in the body: BodyError (a damaged chunk), nothing built", async () => {
    const { BodyError, decodeEventBody, slotTable } = await import("../src/trace/event-codec.ts");
    const slots = slotTable([["user", 0, 1]]);
    // [firstSeq, n, scale, [ [[[[...]]]] ], ...]: 100,000 nested arrays where the string table goes.
    const deep = new Uint8Array(100_000).fill(0x91);
    deep[deep.length - 1] = 0x90;
    const nested = Uint8Array.from([0x9c, 0, 1, 1, 0x91, ...deep]);
    expect(() => decodeEventBody(2, nested, 1, 0, slots)).toThrow(BodyError);
    // The string table as 60,000 empty arrays (one byte each, a JavaScript array each if unpacked).
    const flood = Uint8Array.from([0x9c, 0, 1, 1, 0xdc, 0xea, 0x60, ...new Uint8Array(60_000).fill(0x90)]);
    expect(() => decodeEventBody(2, flood, 1, 0, slots)).toThrow(/not a msgpack document of the expected shape/);
  });

  it("a firstSeq that is a string from the trace is named escaped and cut in the message", async () => {
    const { decodeEventBody, slotTable } = await import("../src/trace/event-codec.ts");
    const body = packr.pack(["\x1b[2J" + "x".repeat(100), 1, 1, [], ...new Array(8).fill(new Uint8Array(1))]);
    let msg = "";
    try {
      decodeEventBody(2, body, 1, 0, slotTable([["user", 0, 1]]));
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain("firstSeq '\\x1b[2Jxxx");
    expect(msg).not.toContain("\x1b");
    expect(msg.length).toBeLessThan(200);
  });
});
