// ktrace import: the byte-level fast paths (lines.ts, ftrace.ts's scanner, fields.ts's
// payload forms and string cache) give what the reference paths give: the regexes for
// lines and payloads, and decoding the whole file for lines.

import { Buffer } from "node:buffer";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { text } from "../src/import/bytes.ts";
import { Clock } from "../src/import/clock.ts";
import { parsePayload, parsePayloadAt } from "../src/import/fields.ts";
import { parseFtraceLineRe, scanFtrace } from "../src/import/ftrace.ts";
import { LineReader, MAX_LINE_CHARS, READ_CHUNK } from "../src/import/lines.ts";

const FIX = path.resolve(__dirname, "../fixtures/import");
const tmp = mkdtempSync(path.join(tmpdir(), "ktrace-import-fast-"));

/** Lines of the text fixtures of a folder whose names start with `prefix` (sorted: the test is the same everywhere). */
function fixtureLines(dir: string, prefix = ""): string[] {
  return readdirSync(path.join(FIX, dir))
    .sort()
    .filter((f) => f.endsWith(".txt") && f.startsWith(prefix))
    .flatMap((f) => readFileSync(path.join(FIX, dir, f), "utf8").split("\n"));
}
const ftraceLines = [
  ...fixtureLines("ftrace"),
  ...fixtureLines("real", "tracefs"),
  ...fixtureLines("real", "trace-cmd"),
];

/** A deterministic generator (xorshift32). */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

/** `inner` as bytes between other bytes, so a reader that strays out of [s, e) is caught. */
function embed(inner: string): { buf: Buffer; s: number; e: number } {
  const pre = "x-1 [000] d..2. 9.000001: ev: a=b==> ]) \n";
  const buf = Buffer.from(pre + inner + "\n: ev: k=v 0xff (ret=1) [ns]");
  const s = Buffer.byteLength(pre);
  return { buf, s, e: s + Buffer.byteLength(inner) };
}

describe("ftrace byte scanner", () => {
  it("reads every fixture line, in place in a larger buffer, as the regex does", () => {
    let events = 0;
    let scanned = 0;
    for (const l of ftraceLines) {
      const { buf, s, e } = embed(l);
      const [a, b] = [new Clock(), new Clock()];
      const r = scanFtrace(buf, s, e, 7, a);
      const ref = parseFtraceLineRe(l, 7, b);
      if (ref !== null && ref !== "skip" && ref.name !== "lost_events") events++;
      if (r === null) continue;
      scanned++;
      expect(r, l).toEqual(ref);
      expect(a.info(), l).toEqual(b.info());
    }
    // the fast path is the common path: it reads nearly every event line itself
    expect(events).toBeGreaterThan(600);
    expect(scanned).toBeGreaterThan(events * 0.95);
  });
});

describe("payload forms", () => {
  /** name and payload of every event line of the ftrace and perf fixtures. */
  const payloads: [string, string][] = [
    ...ftraceLines,
    ...fixtureLines("perf"),
    ...fixtureLines("real", "perf"),
  ].flatMap((l) => {
    const m = /: (?:\w+:)?(\w+): +(.*)$/.exec(l);
    return m === null ? [] : [[m[1]!, m[2]!] as [string, string]];
  });

  const same = (name: string, p: string) => {
    const { buf, s, e } = embed(p);
    expect(parsePayloadAt(name, buf, s, e), `${name}: ${JSON.stringify(p)}`).toStrictEqual(parsePayload(name, p));
  };

  it("every fixture payload reads the same from bytes as from text (regex forms)", () => {
    expect(new Set(payloads.map(([n]) => n)).size).toBeGreaterThan(20);
    for (const [name, p] of payloads) same(name, p);
  });

  it("payloads the fast forms must not take read as the regexes read them", () => {
    const cases: [string, string][] = [
      ["sched_switch", "prev_comm=a=b prev_pid=1 prev_prio=120 prev_state=S ==> next_comm=c next_pid=2 next_prio=120"],
      [
        "sched_switch",
        "prev_comm=x prev_pid=9 prev_pid=1 prev_prio=120 prev_state=S ==> next_comm=c next_pid=2 next_prio=120",
      ],
      ["sched_switch", "prev_comm=a\rb prev_pid=1 prev_prio=120 prev_state=S ==> next_comm=c next_pid=2 next_prio=120"],
      [
        "sched_switch",
        "prev_comm=a\u2028 prev_pid=1 prev_prio=120 prev_state=S ==> next_comm=c next_pid=2 next_prio=120",
      ],
      [
        "sched_switch",
        "prev_comm=é ü prev_pid=1 prev_prio=-5 prev_state=R+ ==> next_comm=日本 next_pid=0 next_prio=-1",
      ],
      [
        "sched_switch",
        "prev_comm=a prev_pid=1 prev_prio=120 prev_state=S\u00a0x ==> next_comm=c next_pid=2 next_prio=120",
      ],
      ["sched_switch", "prev_comm=a prev_pid=1 prev_prio=120 prev_state=S\tx ==> next_comm=c next_pid=2 next_prio=120"],
      [
        "sched_switch",
        "prev_comm=a prev_pid=0001 prev_prio=-0 prev_state=S ==> next_comm=c next_pid=1234567890123456 next_prio=-123456789012345",
      ],
      ["sched_switch", "prev_comm= prev_pid=1 prev_prio=120 prev_state=S ==> next_comm= next_pid=2 next_prio=120"],
      [
        "sched_switch",
        "prev_comm=a prev_pid=1 prev_prio=120 prev_state=S ==> next_comm=b ==> next_comm=c next_pid=2 next_prio=120",
      ],
      ["sched_waking", "comm=a pid=1 prio=120 success=1 target_cpu=001"],
      ["sched_waking", "comm=a pid=1 prio=120 target_cpu=001 "],
      ["sched_stat_runtime", "comm=a pid=1 runtime=12 [ns]x"],
      ["sched_stat_runtime", "comm=a pid=1 runtime=012 [ns]"],
      ["irq_handler_entry", "irq=1 name="],
      ["irq_handler_entry", "irq=1 name=a=b c"],
      ["irq_handler_exit", "irq=1 ret=é"],
      ["softirq_entry", "vec=1 [action=A-B]"],
      ["softirq_entry", "vec=01 [action=TIMER]"],
      ["contention_begin", "0xffff (flags=A)B)"],
      ["contention_begin", "0xffff (flags=)"],
      ["contention_end", "0xffff (ret=-007)"],
      ["contention_end", "0xffff (ret=1234567890123456)"],
      ["contention_end", "é (ret=1)"],
      ["lock_acquire", "try read x"],
      ["lock_acquire", "try "],
      ["lock_acquire", "0x1 "],
      ["lock_acquire", "0x12g x"],
      ["lock_acquire", "0123456789abcdef0 x"],
      ["lock_acquire", "deadbeef try read &a->b"],
      ["lock_acquire", "deadbeef x=1"],
      ["lock_acquire", "a\rb"],
      ["lock_release", "0000000012345678 "],
      ["lock_release", "read x"],
      ["x", "a=1 b==> c=[x] [d=e] e=  f="],
      ["x", "k=ü v=0 w=-0 z=00 y=-1234567890123456"],
    ];
    for (const [name, p] of cases) same(name, p);
  });

  it("20,000 mutations of the fixture payloads read the same from bytes as from text", () => {
    const r = rng(15);
    const pieces = [
      "=",
      " ",
      "-",
      ":",
      "[",
      "]",
      "(",
      ")",
      ".",
      "0",
      "9",
      "é",
      "\u2028",
      "\t",
      "\r",
      "\u00a0",
      "x=",
      " pid=",
      " prev_pid=",
      "==>",
      " ==> ",
      "-1",
      "0x",
      "try ",
      "read ",
      " [ns]",
      "\\",
      "\x00",
      "𝄞",
      "\ufffd",
    ];
    for (let i = 0; i < 20_000; i++) {
      const [name, base] = payloads[r(payloads.length)]!;
      // mutated by code points: decoded input holds no lone surrogate
      let p = Array.from(base);
      for (let k = 1 + r(3); k > 0; k--) {
        const at = r(p.length + 1);
        const op = r(3);
        const piece = Array.from(pieces[r(pieces.length)]!);
        p =
          op === 0
            ? [...p.slice(0, at), ...piece, ...p.slice(at)]
            : op === 1
              ? [...p.slice(0, at), ...p.slice(at + 1 + r(3))]
              : [...p.slice(0, at), ...piece, ...p.slice(at + 1)];
      }
      same(name, p.join(""));
    }
  });
});

describe("string cache", () => {
  it("gives the decoded text, never a cached string for other bytes", () => {
    const b = Buffer.from("worker1 worker2 worker1 \xe9 é ü ü");
    const latin = Buffer.from([0xe9]); // not UTF-8: U+FFFD, whatever a cache holds
    expect(text(b, 0, 7)).toBe("worker1");
    expect(text(b, 8, 15)).toBe("worker2");
    expect(text(b, 16, 23)).toBe("worker1");
    expect(text(latin, 0, 1)).toBe("\ufffd");
    expect(text(Buffer.from("é"), 0, 2)).toBe("é");
    expect(text(latin, 0, 1)).toBe("\ufffd");
    // many distinct strings through the same cache: each still reads as itself
    const r = rng(3);
    for (let i = 0; i < 50_000; i++) {
      const s = `k${r(20_000)}`;
      expect(text(Buffer.from(`  ${s} `), 2, 2 + s.length)).toBe(s);
    }
  });
});

describe("line reader", () => {
  /** The lines of a file as decoding it whole and splitting it would give them (the reader's contract). */
  function reference(bytes: Uint8Array): { lines: string[]; overlong: number[]; noFinalNewline: boolean } {
    const all = new TextDecoder().decode(bytes).split("\n");
    const last = all.pop()!;
    const lines: string[] = [];
    const overlong: number[] = [];
    const add = (l: string, strip: boolean) => {
      if (l.length > MAX_LINE_CHARS) {
        overlong.push(lines.length + 1);
        lines.push("");
      } else lines.push(strip && l.endsWith("\r") ? l.slice(0, -1) : l);
    };
    for (const l of all) add(l, true);
    if (last !== "") add(last, false);
    return { lines, overlong, noFinalNewline: last !== "" };
  }

  async function read(file: string, gzip: boolean) {
    const reader = new LineReader(file, gzip);
    const lines: string[] = [];
    const overlong: number[] = [];
    for await (const b of reader.batches()) {
      for (let i = 0; i < b.count; i++) {
        lines.push(b.text(i));
        if (b.isOverlong(i)) overlong.push(b.first + i);
      }
    }
    return { lines, overlong, end: reader.endState() };
  }

  /** Random text with the hard cases: CRLF, a BOM, bytes that are not UTF-8, multibyte characters, lines near the length limit. */
  function input(seed: number): Uint8Array {
    const r = rng(seed);
    const enc = (s: string) => new TextEncoder().encode(s);
    const pieces = [
      enc("a"),
      enc("bc "),
      enc("\r"),
      enc("\n"),
      enc("\r\n"),
      enc("é"),
      enc("€"),
      enc("𝄞"),
      enc("\u2028"),
      new Uint8Array([0xff]),
      new Uint8Array([0xe2, 0x82]),
      new Uint8Array([0xf0, 0x9d]),
      new Uint8Array([0xef, 0xbb, 0xbf]),
    ];
    const parts: Uint8Array[] = r(2) === 0 ? [new Uint8Array([0xef, 0xbb, 0xbf])] : [];
    // a 4-byte character across the first read boundary
    parts.push(new Uint8Array(READ_CHUNK - 2).fill(0x61), enc("𝄞\n"));
    let total = READ_CHUNK;
    const size = [3000, 400_000, 800_000][seed % 3]!;
    while (total < size) {
      let p: Uint8Array;
      if (r(40) === 0) {
        // a line of 1, 2, 3 or 4-byte characters around MAX_LINE_CHARS UTF-16 units
        const ch = [enc("a"), enc("é"), enc("€"), enc("𝄞")][r(4)]!;
        const units = MAX_LINE_CHARS + [-1, 0, 1, 2][r(4)]!;
        const reps = Math.ceil(units / (ch.length === 4 ? 2 : 1));
        p = new Uint8Array(reps * ch.length + 1);
        for (let i = 0; i < reps; i++) p.set(ch, i * ch.length);
        p[p.length - 1] = 10;
      } else if (r(200) === 0)
        p = new Uint8Array(MAX_LINE_CHARS * 3 + 100).fill(0x62); // beyond the reader's buffer
      else p = pieces[r(pieces.length)]!;
      parts.push(p);
      total += p.length;
    }
    return Buffer.concat(parts);
  }

  it("reads lines, CRLF, a BOM, bad UTF-8, characters across reads and overlong lines as decoding the whole file does", async () => {
    for (let seed = 1; seed <= 9; seed++) {
      let bytes = input(seed);
      if (seed % 2 === 0) bytes = Buffer.concat([bytes, Buffer.from("last\r")]); // no final newline
      const file = path.join(tmp, `lines-${seed}.txt`);
      writeFileSync(file, bytes);
      const ref = reference(bytes);
      for (const gzip of seed % 3 === 0 ? [false, true] : [false]) {
        if (gzip) writeFileSync(file + ".gz", gzipSync(bytes));
        const got = await read(gzip ? file + ".gz" : file, gzip);
        expect(got.lines.length, `seed ${seed}`).toBe(ref.lines.length);
        for (let i = 0; i < ref.lines.length; i++)
          if (got.lines[i] !== ref.lines[i]) expect(got.lines[i], `seed ${seed} line ${i + 1}`).toBe(ref.lines[i]);
        expect(got.overlong).toEqual(ref.overlong);
        expect(got.end).toMatchObject({
          lines: ref.lines.length,
          noFinalNewline: ref.noFinalNewline,
          overlongCount: ref.overlong.length,
        });
      }
    }
  });
});
