// A trace whose strings try to take over a terminal or break a Markdown
// report: the scenario, fix and option names, process and lock names, event
// labels and the panic message hold escape sequences, line breaks, bidi
// overrides and Markdown/HTML. Its events fold (applyEvent), so every command
// reads it end to end.

import { applyEvent } from "../../src/kernel/apply.ts";
import { initState } from "../../src/kernel/state.ts";
import { type KEvent, KIND } from "../../src/kernel/types.ts";
import { TraceWriter } from "../../src/trace/index.ts";
import { SYNTH_CONFIG } from "./synth.ts";

/** The nasty part: an OSC title change, clear screen, red, a forged line, a bidi override, Markdown and HTML. */
export const EVIL = "\x1b]0;pwned-title\x07\x1b[2J\x1b[31mRED\r\nktrace: forged line\u202e</details>`|<b>";
/** How EVIL must look wherever it is shown to a person. */
export const EVIL_SHOWN = "\\x1b]0;pwned-title\\x07\\x1b[2J\\x1b[31mRED\\r\\nktrace: forged line\\u202e";

/** Writes the evil trace to path (its strings holding `evil`, EVIL by default). */
export function writeEvilTrace(path: string, evil = EVIL): void {
  const EVIL = evil;
  const st = initState(SYNTH_CONFIG);
  const w = TraceWriter.create(
    path,
    {
      scenario: `evil${EVIL}`,
      fix: `fix${EVIL}`,
      seed: 1,
      options: { [`k${EVIL}`]: `v${EVIL}` },
      config: SYNTH_CONFIG,
      writer: `ktrace 0.1.0${EVIL}`,
      snapshotEvery: 4,
      maxEvents: 100,
    },
    initState(SYNTH_CONFIG),
  );
  const evs: Omit<KEvent, "seq" | "time">[] = [
    { cpu: -1, tid: -1, kind: KIND.procNew, a: 1, b: 0, c: 0, s: `proc${EVIL}` },
    { cpu: -1, tid: -1, kind: KIND.threadNew, a: 1, b: 1, c: 1, s: "" },
    { cpu: -1, tid: -1, kind: KIND.lockNew, a: 50, b: 1, c: 1, s: `lock${EVIL}` },
    { cpu: 0, tid: -1, kind: KIND.switch, a: -1, b: 1, c: 0, s: "" },
    { cpu: 0, tid: 1, kind: KIND.user, a: 0, b: 0, c: 0, s: `label${EVIL}` },
    { cpu: 0, tid: 1, kind: KIND.lockAcquire, a: 50, b: 1, c: 0, s: "" },
    { cpu: 0, tid: 1, kind: KIND.kwork, a: 0, b: 0, c: 0, s: `kwork${EVIL}` },
    { cpu: 0, tid: 1, kind: KIND.panic, a: 0, b: 0, c: 0, s: `panic${EVIL}` },
    { cpu: -1, tid: -1, kind: KIND.end, a: 2, b: 0, c: 0, s: "" },
  ];
  evs.forEach((e, i) => {
    const ev = { ...e, seq: i, time: 100 * (i + 1) };
    applyEvent(st, ev);
    w.append(ev, st);
  });
  w.finish({ outcome: st.outcome });
}
