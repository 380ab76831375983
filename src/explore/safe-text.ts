// Text from outside (a shard's JSON, a trace's labels, a file name) made safe
// to print on a terminal: control characters (C0, DEL, C1, and the bidi and
// line/paragraph separators) are shown as \u{XX} escapes instead of acting
// on the terminal. Printable text, wide characters included, is unchanged.

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** s with every control character replaced by a visible \u{XX} escape. */
export function termSafe(s: string): string {
  return s.replace(CONTROL, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}
