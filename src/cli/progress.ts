// Progress on a terminal: one line on stderr, redrawn in place (at most every
// 100 ms) through the output helpers, and cleared when the work is done; never
// when stderr is not a terminal (a pipe or a file gets nothing). explore's line
// counts seeds (cmd/explore.ts, progressLine); workLine counts any work
// (`ktrace info`'s chunks).

import { safeText } from "../util/safe-text.ts";
import { cellWidth, cut } from "../util/text-table.ts";
import { eredraw, isStderrTTY, stderrColumns } from "./io.ts";

/** Columns a progress line may use when stderr's width is unknown. */
export const FALLBACK_COLUMNS = 80;

const n = (x: number) => x.toLocaleString("en-US");

/** A duration as a person reads it: "4.2 s", "12 s", "3 min 5 s". */
export function duration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** A bar `w` cells wide, `frac` of it full. */
export function bar(frac: number, w: number): string {
  const full = Math.round(Math.min(1, Math.max(0, frac)) * w);
  return `${"█".repeat(full)}${"░".repeat(w - full)}`;
}

/**
 * The line for `done` of `total` units of work after `elapsedMs`, for a
 * terminal `columns` wide: always narrower than it, dropping the rate's
 * estimate, the bar and the label in turn as room runs out.
 */
export function workLine(
  label: string,
  done: number,
  total: number,
  unit: string,
  elapsedMs: number,
  columns: number,
): string {
  const room = Math.max(1, columns - 1);
  const frac = total > 0 ? done / total : 1;
  const left = done > 0 && elapsedMs > 0 ? duration(((total - done) * elapsedMs) / done) : "?";
  const safe = safeText(label);
  const count = (d: string) => `${d}/${n(total)} ${unit}`;
  const layouts = [
    (d: string) => `${safe} ${bar(frac, 24)} ${count(d)}  ${left} left`,
    (d: string) => `${safe} ${bar(frac, 12)} ${count(d)}  ${left} left`,
    (d: string) => `${bar(frac, 12)} ${count(d)}  ${left} left`,
    (d: string) => `${count(d)}  ${left} left`,
  ];
  // The first layout that fits with the count at its widest, so the layout does not change as it grows.
  for (const l of layouts) if (cellWidth(l(n(total))) <= room) return l(n(done));
  return cut(layouts[3]!(n(done)), room);
}

/** A line redrawn on stderr at most every 100 ms (and at the end), or null when stderr is not a terminal. */
export function liveLine<P>(
  line: (p: P, columns: number) => string,
): { update(p: P, last?: boolean): void; clear(): void } | null {
  if (!isStderrTTY()) return null;
  let drawn = -Infinity;
  let shown = false;
  return {
    update(p, last = false) {
      const now = performance.now();
      if (now - drawn < 100 && !last) return;
      drawn = now;
      eredraw(line(p, stderrColumns() ?? FALLBACK_COLUMNS));
      shown = true;
    },
    clear() {
      if (shown) eredraw("");
    },
  };
}

/**
 * A work line (workLine) for `total` units on stderr, or null when stderr is
 * not a terminal: `to(done)` moves it to its furthest point so far (a pass
 * that starts again does not move it back), `clear()` takes it away.
 */
export function workProgress(
  label: string,
  total: number,
  unit: string,
): { to(done: number): void; clear(): void } | null {
  const t0 = performance.now();
  const live = liveLine((done: number, columns: number) =>
    workLine(label, done, total, unit, performance.now() - t0, columns),
  );
  if (live === null) return null;
  let far = 0;
  return {
    to(done) {
      far = Math.max(far, done);
      live.update(far, far >= total);
    },
    clear: () => live.clear(),
  };
}
