// The one rule for showing untrusted text (strings from a trace or a report:
// scenario and fix names, options, event labels, lock and process names,
// outcome messages, file names) to a person: on a terminal, in the TUI and in
// a Markdown report. Pure and dependency-free, so every layer may use it.
//
// A trace travels through bug trackers, so its strings may hold terminal
// escape sequences (`\x1b]0;title\x07`, `\x1b[2J`), line breaks that forge
// output lines, bidirectional overrides that reorder what is read, or Markdown
// that breaks a report's layout. They are shown escaped, never interpreted.
// Machine-readable output (`--json`, `export`) keeps strings exact: JSON
// escapes them itself.

/**
 * Characters shown escaped: C0 controls (including tab, CR, LF and ESC), DEL,
 * C1 controls (U+0080..U+009F; U+009B is a CSI on some terminals), bidi
 * marks and overrides, line and paragraph separators, the BOM, and lone
 * UTF-16 surrogates.
 */
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const SHORT: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function escapeChar(c: string): string {
  const short = SHORT[c];
  if (short !== undefined) return short;
  const code = c.charCodeAt(0);
  return code < 0x80 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** True when s holds a character safeText would escape. */
export function hasUnsafe(s: string): boolean {
  UNSAFE.lastIndex = 0;
  const bad = UNSAFE.test(s);
  UNSAFE.lastIndex = 0;
  return bad;
}

/**
 * Untrusted text made safe to show on one line of a terminal: every character
 * that could control a terminal or mislead a reader (see UNSAFE) is replaced by
 * a visible escape (`\x1b`, `\n`, `\t`, `\u202e`); everything else, backslashes
 * included, is kept as is. The result holds no control character and no line
 * break. Returns s itself when nothing needs escaping.
 */
export function safeText(s: string): string {
  if (!hasUnsafe(s)) return s;
  return s.replace(UNSAFE, escapeChar);
}

/**
 * The SGR sequences ktrace's own colour helpers emit (src/cli/io.ts): bold,
 * dim, normal intensity, the foreground colours and default foreground. The
 * terminal filter lets these through and escapes every other sequence.
 */
const OWN_SGR = /\x1b\[(?:0|1|2|22|3[1-7]|39)m/y;

/**
 * The output filter for a block of human-readable text the CLI writes
 * (stdout and stderr): like safeText, but keeps line feeds and tabs (the
 * layout is ktrace's) and ktrace's own colour sequences (OWN_SGR). It is the
 * backstop behind safeText: text built from a trace should already have gone
 * through safeText, so that even a trace string shaped like a colour sequence
 * is shown escaped.
 */
export function terminalText(text: string): string {
  if (!hasUnsafe(text)) return text;
  let out = "";
  let last = 0;
  UNSAFE.lastIndex = 0;
  for (let m = UNSAFE.exec(text); m !== null; m = UNSAFE.exec(text)) {
    const at = m.index;
    const c = m[0];
    if (c === "\n" || c === "\t") continue;
    if (c === "\x1b") {
      OWN_SGR.lastIndex = at;
      if (OWN_SGR.test(text)) {
        UNSAFE.lastIndex = OWN_SGR.lastIndex;
        continue;
      }
    }
    out += text.slice(last, at) + escapeChar(c);
    last = at + c.length;
  }
  UNSAFE.lastIndex = 0;
  return last === 0 ? text : out + text.slice(last);
}

/**
 * JSON text (from JSON.stringify) made safe for a terminal and still the same
 * JSON: JSON.stringify escapes C0 controls and lone surrogates itself; the
 * other characters UNSAFE names (DEL, C1 controls, bidi marks, line and
 * paragraph separators, the BOM) become \uXXXX escapes, which decode to the
 * same strings. Line feeds and tabs between values (indentation) are kept.
 * (terminalText would write DEL as \x7f, which is not JSON.)
 */
export function jsonText(json: string): string {
  if (!hasUnsafe(json)) return json;
  return json.replace(UNSAFE, (c) =>
    c === "\n" || c === "\t" ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

// ---- Markdown ----

/**
 * Untrusted text for Markdown inline text or a table cell: safeText, then the
 * characters Markdown would interpret are escaped (`\`, `` ` ``, `*`, `_`,
 * `[`, `]`, `|`, `#`; `<`, `>` and `&` as entities, so no label can open or
 * close an HTML block such as `<details>`).
 */
export function mdText(s: string): string {
  return safeText(s)
    .replace(/[\\`*_[\]|#]/g, "\\$&")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;");
}

/**
 * Untrusted text as a Markdown code span: safeText, then fenced with one more
 * backtick than the longest run of backticks inside (so no label can end the
 * span early). In a table cell (`cell`), `|` is escaped as GFM requires.
 */
export function mdCode(s: string, cell = false): string {
  let t = safeText(s);
  if (cell) t = t.replace(/\|/g, "\\|");
  let longest = 0;
  for (const run of t.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  const fence = "`".repeat(longest + 1);
  const pad = t.startsWith("`") || t.endsWith("`") || t === "" ? " " : "";
  return `${fence}${pad}${t}${pad}${fence}`;
}
