// The one text-table helper: cell widths (CJK, emoji, combining marks, ANSI
// colours), cutting and padding by cells, wrapping, rows and tables.

import { describe, expect, it } from "vitest";
import { autoAlign, cellWidth, cut, fit, pad, row, table, wrap } from "../src/util/text-table.ts";

const FAMILY = "👨‍👩‍👧"; // one grapheme, a ZWJ sequence of three emoji: 2 cells
const CAFE = "cafe\u0301"; // "café" with a combining accent: 4 cells

describe("cell widths", () => {
  it("counts CJK and emoji as two cells, combining marks and ANSI codes as none", () => {
    expect(cellWidth("abc")).toBe(3);
    expect(cellWidth("测试")).toBe(4);
    expect(cellWidth("🔒")).toBe(2);
    expect(cellWidth(FAMILY)).toBe(2);
    expect(cellWidth(CAFE)).toBe(4);
    expect(cellWidth("\u001b[31mred\u001b[39m")).toBe(3);
    expect(cellWidth("→✗≠µ…")).toBe(5);
  });
});

describe("cut, pad, fit", () => {
  it("cuts to at most w cells with …, never inside a grapheme", () => {
    expect(cut("abcdef", 4)).toBe("abc…");
    expect(cut("abc", 4)).toBe("abc");
    expect(cut("abc", 1)).toBe("…");
    expect(cut("abc", 0)).toBe("");
    // 测试锁 is 6 cells: 4 cells is 测 and …, plus a space for the cell 试 would have half-filled.
    expect(cut("测试锁", 4)).toBe("测… ");
    expect(cellWidth(cut("测试锁", 4))).toBe(4);
    expect(cut("测试锁", 5)).toBe("测试…");
    expect(cut(`${FAMILY}${FAMILY}x`, 4)).toBe(`${FAMILY}… `);
    expect(cut(`${CAFE}s and more`, 5)).toBe(`${CAFE}…`);
  });

  it("pads by cells, left or right, and never cuts", () => {
    expect(pad("测", 4)).toBe("测  ");
    expect(pad("测", 4, "right")).toBe("  测");
    expect(pad("toolong", 3)).toBe("toolong");
  });

  it("fits to exactly w cells", () => {
    for (const s of ["", "a", "abcdefgh", "测试锁名字", `${FAMILY} lock`, CAFE]) {
      for (const w of [1, 2, 3, 5, 8]) expect(cellWidth(fit(s, w)), `${s} in ${w}`).toBe(w);
    }
    expect(fit("12", 5, "right")).toBe("   12");
  });
});

describe("wrap", () => {
  it("never glues a word to the one before it: a word that fits only without its space goes on the next line", () => {
    expect(wrap("ab cd e", 6)).toEqual(["ab cd", "e"]);
    // as the TUI's explain dialog had it at 120 columns: "... store (plain write) by tid1"
    const text = "and store (plain write) by tid 1 (pid 1) at seq 58";
    for (let w = 8; w <= text.length + 1; w++)
      expect(
        wrap(text, w, "  ")
          .map((l) => l.trim())
          .join(" "),
        `width ${w}`,
      ).toBe(text);
  });
  it("wraps at spaces, keeping the first line indentation and adding a hanging indent", () => {
    expect(wrap("  seq 12  owner: tid 3 took the lock at fork", 20, "    ")).toEqual([
      "  seq 12  owner: tid",
      "    3 took the lock",
      "    at fork",
    ]);
  });

  it("breaks a word (or a run of CJK) longer than a line", () => {
    expect(wrap("abcdefghij", 4)).toEqual(["abcd", "efgh", "ij"]);
    const l = wrap("这是一个很长的锁名字没有空格", 10);
    expect(l.length).toBeGreaterThan(1);
    for (const x of l) expect(cellWidth(x)).toBeLessThanOrEqual(10);
    expect(l.join("")).toBe("这是一个很长的锁名字没有空格");
  });

  it("keeps every line within w cells for mixed text, and loses no word", () => {
    const s = `lock 测试锁 ${FAMILY} held by tid 2 which ${"x".repeat(30)} does not exist in pid 2`;
    for (const w of [5, 12, 27, 80]) {
      const l = wrap(s, w, "  ");
      for (const x of l) expect(cellWidth(x), `${JSON.stringify(x)} in ${w}`).toBeLessThanOrEqual(w);
      expect(l.join(" ").replace(/ +/g, "")).toBe(s.replace(/ +/g, ""));
    }
    expect(wrap("", 10)).toEqual([""]);
  });
});

describe("rows and tables", () => {
  it("lays out a fixed-width row, cutting and padding each cell (the panes)", () => {
    const cols = [{ width: 6 }, { width: 3, align: "right" as const }, { width: 4 }];
    expect(row(["测试锁名字", "2", "run"], cols, { cut: true })).toBe("测试…    2 run ");
    expect(cellWidth(row(["测试锁名字", "2", "run"], cols, { cut: true }))).toBe(6 + 1 + 3 + 1 + 4);
  });

  it("treats widths as minimums without cut (CLI output keeps all text)", () => {
    const cols = [{ width: 3, align: "right" as const }, { width: 5 }, { width: 0 }];
    expect(row(["7", "unlock-not-owner", "desc"], cols)).toBe("  7 unlock-not-owner desc");
    expect(row(["7", "fork", "desc"], cols)).toBe("  7 fork  desc");
  });

  it("aligns a table under its headers by cell width, numbers right", () => {
    expect(
      table(
        ["seq", "kind", "event"],
        [
          [5, "lock-new", "lock 测试锁 created"],
          [12, "fork", "pid 1 forks"],
        ],
      ),
    ).toEqual(["seq  kind      event", "  5  lock-new  lock 测试锁 created", " 12  fork      pid 1 forks"]);
    expect(
      table(
        ["name", "pid"],
        [
          ["测试锁", 1],
          ["a", "-"],
        ],
      ),
    ).toEqual(["name    pid", "测试锁    1", "a         -"]);
  });

  it("right-aligns a column only when it is all numbers or -", () => {
    expect(autoAlign(["1", "-", "20"])).toBe("right");
    expect(autoAlign(["-", "-"])).toBe("left");
    expect(autoAlign(["1", "k"])).toBe("left");
  });

  it("measures coloured cells by what shows", () => {
    const red = (s: string) => `\u001b[31m${s}\u001b[39m`;
    expect(
      table(
        null,
        [
          ["outcome", red("hang")],
          ["trace", "x"],
        ],
        { align: ["left", "left"] },
      ),
    ).toEqual([`outcome  ${red("hang")}`, "trace    x"]);
  });
});
