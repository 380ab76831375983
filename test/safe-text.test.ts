// The one rule for showing untrusted text: src/util/safe-text.ts.
import { describe, expect, it } from "vitest";
import { hasUnsafe, jsonText, mdCode, mdText, safeText, terminalText } from "../src/util/safe-text.ts";

const NASTY = "\x1b]0;pwned-title\x07\x1b[2J\x1b[31mred\r\nline2\tx\x7f\u009b1m\u202egnp.exe\u2028\ud800";

describe("safeText", () => {
  it("shows every control character, escape sequence, bidi override and lone surrogate escaped", () => {
    const s = safeText(NASTY);
    expect(s).toBe(
      "\\x1b]0;pwned-title\\x07\\x1b[2J\\x1b[31mred\\r\\nline2\\tx\\x7f\\u009b1m\\u202egnp.exe\\u2028\\ud800",
    );
    expect(hasUnsafe(s)).toBe(false);
    // Nothing below U+0020, no DEL, no C1.
    for (const ch of s)
      expect(ch.codePointAt(0)! >= 0x20 && ch !== "\x7f" && !(ch >= "\u0080" && ch <= "\u009f")).toBe(true);
  });

  it("keeps ordinary text, Unicode and backslashes as they are (the same string object)", () => {
    const plain = "tcmalloc.SlowTLS held by tid 2 — µs ✖ 日本 😀 C:\\path";
    expect(safeText(plain)).toBe(plain);
    expect(hasUnsafe(plain)).toBe(false);
    expect(safeText("a\ud83d\ude00b")).toBe("a\ud83d\ude00b"); // a surrogate pair is fine
    expect(safeText("\udc00x")).toBe("\\udc00x");
  });
});

describe("terminalText (the CLI's output filter)", () => {
  it("keeps line feeds, tabs and ktrace's own colours; escapes everything else", () => {
    const own = "\x1b[31m\x1b[1mVIOLATION\x1b[22m\x1b[39m x\ty\n";
    expect(terminalText(own)).toBe(own);
    expect(terminalText(`a${NASTY}b\n`)).toBe(
      `a\\x1b]0;pwned-title\\x07\\x1b[2J\x1b[31mred\\r\nline2\tx\\x7f\\u009b1m\\u202egnp.exe\\u2028\\ud800b\n`,
    );
    // Other SGR (hidden text, blink, 256 colours) and other CSI are escaped.
    expect(terminalText("\x1b[8mhidden\x1b[5m\x1b[38;5;1m\x1b[2K")).toBe("\\x1b[8mhidden\\x1b[5m\\x1b[38;5;1m\\x1b[2K");
  });

  it("leaves JSON meaning unchanged (its escapes for non-C0 characters are JSON escapes too)", () => {
    const doc = JSON.stringify({ s: "x\u2028\u009b\u202ey\x1b" });
    expect(JSON.parse(terminalText(doc))).toEqual(JSON.parse(doc));
  });
});

describe("Markdown", () => {
  it("mdText escapes Markdown, HTML and controls, so a label cannot break a table or a <details> block", () => {
    // Renders as: a|b <c> `d`\ne
    expect(mdText("a|b <c> `d`\ne")).toBe("a\\|b &lt;c&gt; \\`d\\`\\\\ne");
    expect(mdText("</details><script>x</script>")).toBe("&lt;/details&gt;&lt;script&gt;x&lt;/script&gt;");
    expect(mdText("*_[x](y)#&lt;")).toBe("\\*\\_\\[x\\](y)\\#&amp;lt;");
    expect(mdText("\x1b[31m")).toBe("\\\\x1b\\[31m");
  });

  it("mdCode fences with more backticks than the text holds", () => {
    expect(mdCode("stress")).toBe("`stress`");
    expect(mdCode("a`b``c")).toBe("```a`b``c```");
    expect(mdCode("`x")).toBe("`` `x ``");
    expect(mdCode("a|b", true)).toBe("`a\\|b`");
    expect(mdCode("\x1b]0;t\x07")).toBe("`\\x1b]0;t\\x07`");
  });
});

describe("jsonText", () => {
  it("is the same JSON, with nothing a terminal would act on (DEL, C1, bidi, separators as \\u escapes)", () => {
    const value = { s: NASTY, k: [NASTY, 1] };
    for (const json of [JSON.stringify(value), JSON.stringify(value, null, 2)]) {
      const t = jsonText(json);
      expect(JSON.parse(t)).toEqual(JSON.parse(json));
      expect(t.replace(/[\n]/g, "")).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e\u2028]/);
    }
    // terminalText would not do here: its \x7f is not a JSON escape.
    expect(() => JSON.parse(terminalText(JSON.stringify("a\x7fb")))).toThrow();
    expect(JSON.parse(jsonText(JSON.stringify("a\x7fb")))).toBe("a\x7fb");
  });
});
