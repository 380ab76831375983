// Text in terminal cells: how wide a string is, cutting and padding it to a
// width, wrapping it, and laying rows out in columns. The one place the CLI's
// text output (`state`, `events`, `info`, `check`) and the replay UI's panes
// measure and align text, so a CJK scenario name or an emoji label takes the
// two cells a terminal gives it everywhere.
//
// Widths come from `string-width` (the same package, at the same version, that
// Ink measures with), so what we pad and what Ink lays out agree. Cutting never
// splits a grapheme (an emoji ZWJ sequence, a letter and its accents).
// ANSI colour codes take no cells. Pure and dependency-light: every layer may use it.

import stringWidth from "string-width";

/** Printable ASCII only: one cell per character, no need to segment. */
const ASCII = /^[\x20-\x7e]*$/;

const graphemes = new Intl.Segmenter("en", { granularity: "grapheme" });

/** Cells `s` takes in a terminal: 2 for CJK and emoji, 0 for combining marks, controls and ANSI codes. */
export function cellWidth(s: string): number {
  return ASCII.test(s) ? s.length : stringWidth(s);
}

/** The longest prefix of `s` that fits in `w` cells, and its width. */
function prefix(s: string, w: number): { text: string; width: number } {
  let text = "";
  let width = 0;
  for (const { segment } of graphemes.segment(s)) {
    const g = stringWidth(segment);
    if (width + g > w) break;
    text += segment;
    width += g;
  }
  return { text, width };
}

/** `s` cut to at most `w` cells; a cut string ends in `…`. Not padded. */
export function cut(s: string, w: number): string {
  if (w <= 0) return "";
  if (ASCII.test(s)) return s.length > w ? (w === 1 ? "…" : s.slice(0, w - 1) + "…") : s;
  if (stringWidth(s) <= w) return s;
  const p = prefix(s, w - 1);
  // A wide character that does not fit leaves a cell: pad so the result is w cells.
  return p.text + "…" + " ".repeat(w - 1 - p.width);
}

export type Align = "left" | "right";

/** `s` padded with spaces to at least `w` cells (never cut): left-aligned pads at the end. */
export function pad(s: string, w: number, align: Align = "left"): string {
  const n = w - cellWidth(s);
  if (n <= 0) return s;
  return align === "left" ? s + " ".repeat(n) : " ".repeat(n) + s;
}

/** `s` cut (ending in `…`) or padded to exactly `w` cells. */
export function fit(s: string, w: number, align: Align = "left"): string {
  if (w <= 0) return "";
  return pad(cut(s, w), w, align);
}

/**
 * `s` wrapped to lines of at most `w` cells, at spaces where it can and inside
 * a word (or a run of CJK) where it must. The first line keeps its leading
 * spaces; continuation lines start with `indent` (a hanging indent, counted in
 * `w`). An empty string is one empty line.
 */
export function wrap(s: string, w: number, indent = ""): string[] {
  const width = Math.max(1, w);
  const ind = cellWidth(indent) < width ? indent : "";
  const out: string[] = [];
  let line = "";
  let lw = 0;
  /** Nothing but indentation on the line yet. */
  let fresh = true;
  const newLine = () => {
    out.push(line.replace(/ +$/, ""));
    line = ind;
    lw = cellWidth(ind);
    fresh = true;
  };
  // Spaces before the next word: written with it when it fits on the line, dropped when it goes on the next.
  let spaces = "";
  for (const part of s.match(/ +|[^ ]+/g) ?? []) {
    if (part[0] === " ") {
      // Spaces between words, and the first line's indentation; none at the start of a wrapped line.
      if (!fresh || out.length === 0) spaces = part;
      continue;
    }
    let word = part;
    if (!fresh && lw + spaces.length + cellWidth(word) > width) newLine();
    else {
      // (The first line's indentation leaves one cell at least for its first word.)
      const sp = spaces.slice(0, Math.max(0, width - 1 - lw));
      line += sp;
      lw += sp.length;
    }
    spaces = "";
    // Longer than a whole line: break it where the line ends.
    while (lw + cellWidth(word) > width) {
      let take = prefix(word, width - lw).text;
      // Not even one grapheme fits (a wide character, one cell left): take it anyway.
      if (take === "") take = graphemes.segment(word)[Symbol.iterator]().next().value!.segment;
      line += take;
      word = word.slice(take.length);
      newLine();
    }
    if (word !== "") {
      line += word;
      lw += cellWidth(word);
      fresh = false;
    }
  }
  out.push((line + spaces).replace(/ +$/, ""));
  return out;
}

/** One column of a row: its width in cells and which side its cells keep to. */
export interface Column {
  readonly width: number;
  readonly align?: Align;
}

export interface RowOptions {
  /** Spaces between columns; default 1. */
  readonly gap?: number;
  /**
   * true: every cell is cut or padded to exactly its column's width (fixed
   * layouts: the replay UI's panes). false (default): widths are minimums, a
   * longer cell pushes the rest right (CLI output, which must not lose text).
   */
  readonly cut?: boolean;
}

/**
 * One line of cells laid out in columns. Cells beyond the columns given are
 * appended as they are. Without `cut`, the last cell is not padded and the line
 * has no trailing spaces.
 */
export function row(cells: readonly string[], columns: readonly Column[], opts: RowOptions = {}): string {
  const gap = " ".repeat(opts.gap ?? 1);
  const parts = cells.map((c, i) => {
    const col = columns[i];
    if (col === undefined) return c;
    if (opts.cut === true) return fit(c, col.width, col.align);
    return i === cells.length - 1 && col.align !== "right" ? c : pad(c, col.width, col.align);
  });
  const line = parts.join(gap);
  return opts.cut === true ? line : line.replace(/ +$/, "");
}

/** Whether a cell reads as a number (or "-", an absent number): such columns are right-aligned. */
export function isNumeric(cell: string): boolean {
  return /^(-?[0-9]+|-)$/.test(cell);
}

/** Right-aligned when every cell is a number or "-" and at least one is a number; else left. */
export function autoAlign(cells: readonly string[]): Align {
  return cells.length > 0 && cells.every(isNumeric) && cells.some((c) => c !== "-") ? "right" : "left";
}

export interface TableOptions {
  /** Spaces between columns; default 2. */
  readonly gap?: number;
  /** Per column: left, right, or auto (default: right when every cell is numeric, see autoAlign). */
  readonly align?: readonly (Align | "auto")[];
}

/**
 * Rows aligned under headers (pass null for none): each column as wide as its
 * widest cell, numeric columns right-aligned, the last column not padded, no
 * trailing spaces. Cells may carry ANSI colours (they take no width).
 */
export function table(
  headers: readonly string[] | null,
  rows: readonly (readonly (string | number)[])[],
  opts: TableOptions = {},
): string[] {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const n = Math.max(headers?.length ?? 0, ...cells.map((r) => r.length));
  const columns: Column[] = [];
  for (let i = 0; i < n; i++) {
    const col = cells.map((r) => r[i] ?? "");
    const a = opts.align?.[i] ?? "auto";
    columns.push({
      width: Math.max(cellWidth(headers?.[i] ?? ""), ...col.map(cellWidth)),
      align: a === "auto" ? autoAlign(col) : a,
    });
  }
  const gap = opts.gap ?? 2;
  const out = cells.map((r) => row(r, columns, { gap }));
  return headers === null ? out : [row(headers, columns, { gap }), ...out];
}
