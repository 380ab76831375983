// ktrace report: a Markdown bug report of a trace, ready to paste into an
// issue. What ran (scenario, fix, seed, versions), how it ended, the first
// invariant violation with the events leading to it and the state of the
// objects involved, the commands that reproduce it and open it at the failure,
// and, when small enough, the trace itself (gzip'd, base64) in a collapsed
// block that every ktrace command reads back (src/trace/embed.ts).

import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { EVENT_KINDS, type KEvent, KIND, type KState, params } from "../kernel/index.ts";
import {
  describe,
  eventOrNull,
  firstViolation,
  importedApplicability,
  kindName,
  optedInText,
  processTable,
  type ReplaySource,
  recoveryNote,
  type StateView,
  selectFor,
  spaceShort,
  stateView,
  threadTable,
  unfoldedText,
  type ViolationReport,
  violationReport,
  withStates,
} from "../replay/index.ts";
import { SCENARIOS } from "../scenarios/index.ts";
import { EMBED_LIMIT, embeddedTraceIn, isGzip, isKtrace } from "../trace/embed.ts";
import { embedTrace, gzipTrace } from "../trace/embed-write.ts";
import { clockText, type TraceReader } from "../trace/index.ts";
import { hasUnsafe, mdCode, mdText, safeText } from "../util/safe-text.ts";
import { sequenceDiagram } from "./mermaid.ts";
import { type ScheduleFindings, scheduleSection } from "./schedule.ts";

export interface ReportInput {
  /** The trace as the user named it. */
  path: string;
  reader: TraceReader;
  source: ReplaySource;
  /** ktrace version writing the report. */
  version: string;
  /** Where the report goes (-o), for the replay-from-the-report command; undefined for stdout. */
  output?: string;
  /** The decisions that matter and the shrunk schedule of a failing trace (the CLI explores them: src/explore/). */
  schedule?: ScheduleFindings;
}

export interface Report {
  markdown: string;
  /** Whether the trace is embedded (its gzip'd size is at most EMBED_LIMIT). */
  embedded: boolean;
  /** Size of the gzip'd trace. */
  gzipBytes: number;
  violation: ViolationReport | null;
}

/** Events shown before the violation, besides its causes. */
const CONTEXT = 8;

/** Text from the trace for Markdown inline text or a table cell: the one rule, mdText (src/util/safe-text.ts). */
export const mdEscape = mdText;

function mdTable(headers: string[], rows: string[][], right: boolean[] = []): string[] {
  const sep = headers.map((_, i) => (right[i] ? "---:" : "---"));
  return [`| ${headers.join(" | ")} |`, `| ${sep.join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)];
}

/** A state-view table (threadTable, processTable) in Markdown: numbers right-aligned, "-" as "–", text escaped. */
function mdRows(t: { headers: string[]; rows: string[][] }): string[] {
  const numeric = (i: number) =>
    t.rows.some((r) => /^-?\d+$/.test(r[i]!)) && t.rows.every((r) => /^(-?\d+|-|)$/.test(r[i]!));
  return mdTable(
    t.headers,
    t.rows.map((r) => r.map((c) => (c === "-" ? "–" : mdEscape(c)))),
    t.headers.map((_, i) => numeric(i)),
  );
}

/** The gzip'd bytes of the trace the user passed: a .ktrace, a .ktrace.gz, or a report/text with one embedded. */
function traceBytes(path: string): Uint8Array | null {
  let all: Uint8Array;
  try {
    all = new Uint8Array(readFileSync(path));
  } catch {
    return null;
  }
  if (isKtrace(all) || isGzip(all)) return gzipTrace(all);
  return embeddedTraceIn(all, path);
}

/**
 * A shell word, quoted when it needs to be. A word holding control characters
 * (from a crafted trace) is written in ANSI-C quoting ($'\x1b'), so the
 * command stays exact and prints no control character.
 */
function sh(word: string): string {
  if (/^[A-Za-z0-9_./=:@%+-]+$/.test(word)) return word;
  if (hasUnsafe(word)) {
    return `$'${Array.from(word, (c) => {
      const code = c.codePointAt(0)!;
      if (c === "\\" || c === "'") return `\\${c}`;
      return hasUnsafe(c)
        ? code < 0x100
          ? `\\x${code.toString(16).padStart(2, "0")}`
          : `\\u${code.toString(16).padStart(4, "0")}`
        : c;
    }).join("")}'`;
  }
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The `ktrace record` command that re-creates the trace, and the file it
 * writes. `schedule` replaces the seed with a decision list (a run that is
 * not its seed's: a shrunk or what-if trace, or the shrunk schedule).
 */
export function recordCommand(r: TraceReader, schedule?: string): { command: string; file: string; known: boolean } {
  const m = r.meta;
  const sc = SCENARIOS.find((s) => s.name === m.scenario);
  const target = sc ? m.scenario : `${m.scenario}.ts`;
  const words = ["ktrace", "record", target];
  if (m.fix) words.push("--fix", m.fix);
  for (const [k, v] of Object.entries(m.options).sort((a, b) => a[0].localeCompare(b[0]))) {
    const dflt = sc?.options?.[k]?.default;
    if (sc && dflt === v) continue;
    words.push("--opt", `${k}=${v}`);
  }
  const st = m.strategy as { name?: unknown; depth?: unknown } | undefined;
  if (schedule !== undefined) words.push("--schedule", schedule);
  else {
    words.push("--seed", String(m.seed));
    if (st?.name === "pct" && typeof st.depth === "number")
      words.push("--strategy", "pct", "--depth", String(st.depth));
  }
  words.push("--cpus", String(m.config.cpus));
  const maxDefault = sc?.defaults?.maxEvents ?? params.DEFAULT_MAX_EVENTS;
  if (m.maxEvents !== maxDefault) words.push("--max-events", String(m.maxEvents));
  if (m.snapshotEvery !== params.DEFAULT_SNAPSHOT_EVERY) words.push("--snapshot-every", String(m.snapshotEvery));
  const file = `${m.scenario.replace(/[^A-Za-z0-9_.-]/g, "_")}${m.fix ? `-${m.fix}` : ""}-s${m.seed}${schedule !== undefined ? "-schedule" : ""}.ktrace`;
  words.push("-o", file);
  return { command: words.map(sh).join(" "), file, known: sc !== undefined };
}

/** The objects an event names, by the meaning of its slots. */
function objectsOf(ev: KEvent, into: Involved): void {
  if (ev.tid >= 0) into.threads.add(ev.tid);
  const info = EVENT_KINDS[ev.kind];
  if (!info) return;
  const v = [ev.a, ev.b, ev.c];
  info.args.forEach((name, i) => {
    const x = v[i]!;
    if (x < 0) return;
    if (ev.kind === KIND.switch) {
      // from and to are threads; state is from's new state (SWITCH_STATES), not a tid.
      if (name !== "state") into.threads.add(x);
    } else if (ev.kind === KIND.reparent && name === "to") into.procs.add(x);
    else if (name === "tid" || name === "childTid") into.threads.add(x);
    else if (name === "pid" || name === "child" || name === "ppid") into.procs.add(x);
    else if (name === "lock") into.locks.add(x);
    else if (name === "kstack") into.kstacks.add(x);
    else if (name === "var") into.vars.add(x);
    else if (name === "obj") into.objs.add(x);
    else if (name === "pipe") into.pipes.add(x);
  });
}

interface Involved {
  threads: Set<number>;
  procs: Set<number>;
  locks: Set<number>;
  kstacks: Set<number>;
  /** The program's objects: variables (and the futex words of condvars, semaphores, rwlocks), heap objects, pipes. */
  vars: Set<number>;
  objs: Set<number>;
  pipes: Set<number>;
}

/**
 * The objects involved in the violation: those its event and its causes name,
 * the owners and waiters of the locks among them, the locks their threads wait
 * on, and the processes and kernel stacks of their threads. For a hang, every
 * thread that blocks or spins. The program's objects (variables, condvars,
 * heap objects, pipes) also from the events just before it (the table's
 * context: a user's bug is often in the value a thread read there), and the
 * futex words its threads wait on.
 */
function involved(src: ReplaySource, v: ViolationReport | null, outcomeSeq: number | null, s: KState): Involved {
  const inv: Involved = {
    threads: new Set(),
    procs: new Set(),
    locks: new Set(),
    kstacks: new Set(),
    vars: new Set(),
    objs: new Set(),
    pipes: new Set(),
  };
  const seqs = v ? [v.seq, ...v.causes.map((c) => c.seq)] : outcomeSeq !== null && outcomeSeq >= 0 ? [outcomeSeq] : [];
  for (const seq of seqs) {
    const ev = seq >= 0 && seq < src.eventCount ? eventOrNull(src, seq) : null;
    if (ev) objectsOf(ev, inv);
  }
  if (v) {
    // The context adds to inv's program objects (the same sets) and to throwaway kernel-object sets.
    const ctx: Involved = { ...inv, threads: new Set(), procs: new Set(), locks: new Set(), kstacks: new Set() };
    for (let q = Math.max(0, v.seq - CONTEXT); q < v.seq && q < src.eventCount; q++) {
      const ev = eventOrNull(src, q);
      if (ev) objectsOf(ev, ctx);
    }
  }
  const at = seqs.length && seqs[0]! >= 0 && seqs[0]! < src.eventCount ? eventOrNull(src, seqs[0]!) : null;
  if (at && (at.kind === KIND.hang || at.kind === KIND.end)) {
    for (const t of s.threads.values()) if (t.state === "blocked" || t.state === "spinning") inv.threads.add(t.tid);
  }
  for (const id of [...inv.locks]) {
    const l = s.locks.get(id);
    if (!l) continue;
    if (l.owner >= 0) inv.threads.add(l.owner);
    for (const t of s.threads.values()) if (t.waitLock === id) inv.threads.add(t.tid);
  }
  for (const tid of [...inv.threads]) {
    const t = s.threads.get(tid);
    if (!t) continue;
    if (t.waitLock >= 0) inv.locks.add(t.waitLock);
    if (t.state === "blocked" && t.waitOn?.what === "futex") inv.vars.add(t.waitOn.id);
    inv.procs.add(t.pid);
    if (t.kstack >= 0) inv.kstacks.add(t.kstack);
  }
  // Held locks of the processes involved (a fork child's copies, say), and kernel locks their threads hold.
  for (const l of s.locks.values()) {
    if (l.owner < 0) continue;
    if (inv.procs.has(l.space) || (l.space === 0 && inv.threads.has(l.owner))) inv.locks.add(l.id);
  }
  return inv;
}

function stateTables(view: StateView, inv: Involved): string[] {
  const out: string[] = [];
  const dash = (x: number) => (x < 0 ? "–" : String(x));
  const th = view.threads.filter((t) => inv.threads.has(t.tid));
  const absent = [...inv.threads].filter((tid) => !view.threads.some((t) => t.tid === tid)).sort((a, b) => a - b);
  if (th.length || absent.length) {
    out.push("**Threads**", "");
    // The columns `ktrace state` shows (state-view.ts's one rule): comm and cpu for an imported trace's tasks.
    const t = threadTable(view, th);
    for (const tid of absent)
      t.rows.push(t.headers.map((h, i) => (i === 0 ? String(tid) : h === "state" ? "gone" : "")));
    out.push(...mdRows(t));
    out.push("");
  }
  const ps = view.processes.filter((p) => inv.procs.has(p.pid));
  if (ps.length) {
    out.push("**Processes**", "");
    out.push(...mdRows(processTable(view, ps)));
    out.push("");
  }
  const ls = view.locks.filter((l) => inv.locks.has(l.id));
  if (ls.length) {
    out.push("**Locks**", "");
    out.push(
      ...mdTable(
        ["id", "name", "in", "type", "owner", "owner alive", "level", "owner since", "copied at fork", "waiters"],
        ls.map((l) => [
          String(l.id),
          mdEscape(l.name),
          spaceShort(l.space),
          l.type,
          l.owner < 0 ? "free" : `tid ${l.owner}${l.type === "recursive" ? ` (ident ${l.ident})` : ""}`,
          l.ownerAlive === null ? "" : l.ownerAlive ? "yes" : "**no**",
          String(l.level),
          dash(l.ownerSince),
          dash(l.copiedSeq),
          l.waiters.map((w) => `tid ${w}`).join(", "),
        ]),
        [true],
      ),
    );
    out.push("");
  }
  const vs = view.vars.filter((x) => inv.vars.has(x.id));
  if (vs.length) {
    const sync = new Map(view.sync.map((x) => [x.var, x]));
    out.push("**Variables**", "");
    out.push(
      ...mdTable(
        ["id", "name", "in", "type", "value", "last written at", "by", "waiters"],
        vs.map((x) => {
          const w = sync.get(x.id);
          return [
            String(x.id),
            mdEscape(x.name),
            spaceShort(x.space),
            x.sync ?? x.type,
            mdEscape(w ? w.text : x.text),
            dash(x.since),
            x.writer < 0 ? "" : `tid ${x.writer}`,
            w ? w.waiters.map((t) => `tid ${t}`).join(", ") : "",
          ];
        }),
        [true],
      ),
    );
    out.push("");
  }
  const os = view.objects.filter((o) => inv.objs.has(o.id));
  if (os.length) {
    out.push("**Heap objects**", "");
    out.push(
      ...mdTable(
        ["id", "name", "in", "state", "allocated at", "freed at"],
        os.map((o) => [
          String(o.id),
          mdEscape(o.name),
          spaceShort(o.space),
          o.state === "freed" ? "**freed**" : o.state,
          dash(o.allocSeq),
          dash(o.freeSeq),
        ]),
        [true],
      ),
    );
    out.push("");
  }
  const pp = view.pipes.filter((x) => inv.pipes.has(x.id));
  if (pp.length) {
    out.push("**Pipes**", "");
    out.push(
      ...mdTable(
        ["id", "bytes in it", "write ends open", "read ends open", "who holds them", "waiting"],
        pp.map((x) => [
          String(x.id),
          `${x.used} of ${x.cap}`,
          String(x.writers),
          String(x.readers),
          x.holders.map((h) => `pid ${h.pid} ${h.end} fd ${h.fds.join(", ")}`).join("; "),
          x.waiting.map((w) => `tid ${w.tid} (${w.to})`).join(", "),
        ]),
        [true],
      ),
    );
    out.push("");
  }
  const ks = view.kstacks.filter((k) => inv.kstacks.has(k.id));
  if (ks.length) {
    out.push("**Kernel stacks**", "");
    out.push(
      ...mdTable(
        ["id", "tid", "state", "allocated at", "freed at", "cpu on it", "TLB flushed"],
        ks.map((k) => [
          String(k.id),
          String(k.tid),
          k.state === "freed" ? "**freed**" : k.state,
          dash(k.allocSeq),
          dash(k.freeSeq),
          k.runningOn === null ? "" : `cpu ${k.runningOn}`,
          k.flushed ? "yes" : "",
        ]),
        [true, true],
      ),
    );
    out.push("");
  }
  return out;
}

/** The rows of the events-leading-to-it table: causes, the last few events, the violation. */
function eventRows(src: ReplaySource, seq: number, causes: { seq: number; why: string }[], s: KState): string[][] {
  const notes = new Map<number, string>();
  for (const c of causes) notes.set(c.seq, c.why);
  const seqs = new Set<number>(causes.map((c) => c.seq));
  for (let q = Math.max(0, seq - CONTEXT); q <= seq; q++) seqs.add(q);
  const sorted = [...seqs].filter((q) => q >= 0 && q < src.eventCount).sort((a, b) => a - b);
  // Each earlier event described with the state just after it (the violation with s, the state there).
  const descs = new Map<number, string>();
  withStates(
    src,
    sorted.filter((q) => q !== seq),
    (e, st) => descs.set(e.seq, describe(e, st ?? undefined)),
  );
  const rows: string[][] = [];
  let prev = -1;
  for (const q of sorted) {
    if (prev >= 0 && q > prev + 1) rows.push(["…", "", "", "", "", "", ""]);
    prev = q;
    const ev = eventOrNull(src, q);
    if (ev === null) {
      rows.push([String(q), "", "", "", "", "*(missing: the trace is damaged here)*", ""]);
      continue;
    }
    const here = q === seq;
    const desc = mdEscape(here ? describe(ev, s) : (descs.get(q) ?? describe(ev)));
    const note = here ? "**← here**" : notes.has(q) ? `← ${mdEscape(notes.get(q)!)}` : "";
    rows.push([
      here ? `**${q}**` : String(q),
      String(ev.time),
      ev.cpu < 0 ? "–" : String(ev.cpu),
      ev.tid < 0 ? "–" : String(ev.tid),
      kindName(ev.kind),
      here ? `**${desc}**` : desc,
      note,
    ]);
  }
  return rows;
}

/** The Mermaid sequence diagram of the threads, locks and processes that led to seq, under its heading (nothing when none). */
function diagramSection(
  src: ReplaySource,
  seq: number,
  causes: number[],
  s: KState,
  v: { invariant: string; message: string } | null,
): string[] {
  if (seq < 0 || seq >= src.eventCount) return [];
  const d = sequenceDiagram(src, seq, causes, s, v);
  return d.length === 0 ? [] : ["### Sequence diagram", "", ...d, ""];
}

/** Builds the report of a trace. */
export function buildReport(x: ReportInput): Report {
  const r = x.reader;
  const src = x.source;
  const m = r.meta;
  const sc = SCENARIOS.find((s) => s.name === m.scenario);
  // An imported trace is checked against the invariants it has the data for (src/replay/consistency.ts).
  const { run: invs, notEvaluated } = importedApplicability(src.meta, selectFor(src));
  const scan = firstViolation(src, invs);
  const imp = m.imported;
  const v = scan.violation ? violationReport(src, scan.violation, scan.state) : null;
  const outcome = r.outcome ?? (r.recovery ? null : { kind: "ok" as const, seq: r.eventCount - 1, message: "" });
  const rec = recordCommand(r, x.schedule?.replay);
  const variant = m.fix
    ? `fix ${mdCode(m.fix, true)}${sc?.fixes[m.fix] ? `: ${mdEscape(sc.fixes[m.fix]!)}` : ""}`
    : "buggy (no fix)";
  const opts = Object.entries(m.options)
    .map(([k, val]) => `${k}=${val}`)
    .join(", ");
  const failed = v !== null || (outcome !== null && outcome.kind !== "ok" && outcome.kind !== "budget");
  const headline = v
    ? `${v.invariant} violated at event ${v.seq}`
    : outcome
      ? outcome.kind === "ok"
        ? "no violation"
        : outcome.kind
      : "incomplete";
  const L: string[] = [];
  if (imp) {
    L.push(`# ktrace report: ${mdEscape(m.scenario)} (imported ${mdEscape(imp.format)} trace): ${headline}`);
    L.push("");
    L.push(
      ...mdTable(
        ["", ""],
        [
          ["imported", `${mdEscape(imp.format)} text from ${mdCode(imp.file, true)}${imp.gzip ? " (gzip)" : ""}`],
          ...(imp.clock ? [["clock", mdEscape(clockText(imp.clock))]] : []),
          ["cpus", String(m.config.cpus)],
          [
            "events",
            `${r.eventCount.toLocaleString("en-US")}${r.endTime !== null ? ` over ${r.endTime.toLocaleString("en-US")} ${imp.clock?.unit === "count" ? "counts" : "ns"}` : ""}`,
          ],
          ["trace", `${mdCode(basename(x.path), true)}, format ${r.formatVersion}, written by ${mdEscape(m.writer)}`],
          ["report", `ktrace ${x.version}`],
        ],
      ),
    );
  } else {
    L.push(
      `# ktrace report: ${mdEscape(m.scenario)}${m.fix ? ` --fix ${mdEscape(m.fix)}` : ""}, seed ${m.seed}: ${headline}${outcome && outcome.kind !== "ok" && v ? `, ${outcome.kind}` : ""}`,
    );
    L.push("");
    L.push(
      ...mdTable(
        ["", ""],
        [
          [
            "scenario",
            `${mdCode(m.scenario, true)}${sc ? `: ${mdEscape(sc.description)}` : " (a scenario file)"}${sc?.upstream ? ` (upstream: ${mdEscape(sc.upstream)})` : ""}`,
          ],
          ["variant", variant],
          ...(opts ? [["options", mdEscape(opts)]] : []),
          ["seed", String(m.seed)],
          ["cpus", String(m.config.cpus)],
          [
            "kernel rules",
            mdEscape(
              `tid after fork ${m.config.tidAfterFork}, kstack free ${m.config.kstackFree}, stack check ${m.config.stackCheck}, procfs VMAR ${m.config.procfsVmar}${m.config.memory === "tso" || m.config.memory === "pso" ? `, memory ${m.config.memory} (store buffers)` : ""}`,
            ),
          ],
          ...(optedInText(m.config).length > 0 ? [["opt-in checks", mdEscape(optedInText(m.config).join(", "))]] : []),
          [
            "events",
            `${r.eventCount.toLocaleString("en-US")}${r.endTime !== null ? ` over ${r.endTime.toLocaleString("en-US")} ns (virtual)` : ""}`,
          ],
          ["trace", `${mdCode(basename(x.path), true)}, format ${r.formatVersion}, written by ${mdEscape(m.writer)}`],
          ["report", `ktrace ${x.version}`],
        ],
      ),
    );
  }
  L.push("");
  const note = recoveryNote(src, basename(x.path));
  if (note && r.recovery)
    L.push(
      `> **Note:** the trace is incomplete (${mdEscape(r.recovery.reason)}); this report covers the ${r.recovery.events} events recovered.`,
      "",
    );
  if (scan.unchecked.length) {
    L.push("> **Note:** the trace is damaged; these stretches could not be checked:", ">");
    for (const u of scan.unchecked) L.push(`> - ${mdEscape(unfoldedText(u))}`);
    L.push("");
  }

  L.push("## Outcome", "");
  if (outcome === null) L.push("Unknown: the trace was cut short before its end.", "");
  else if (outcome.kind === "ok" && imp)
    L.push(`None: an imported trace has no run outcome (${r.eventCount} events).`, "");
  else if (outcome.kind === "ok") L.push(`**ok**: the run completed (${r.eventCount} events).`, "");
  else L.push(`**${outcome.kind}** at event ${outcome.seq}: ${mdEscape(outcome.message)}`, "");

  if (v) {
    L.push(`## First violation: ${mdCode(v.invariant)} at event ${v.seq}`, "");
    L.push(`> ${mdEscape(v.message)}`, "");
    L.push(
      `Event ${v.seq} (${v.kind}, t = ${v.time} ns, cpu ${v.cpu < 0 ? "–" : v.cpu}, tid ${v.tid < 0 ? "–" : v.tid}): ${mdEscape(v.desc)}${/[.!?]$/.test(v.desc) ? "" : "."}`,
      "",
    );
    if (v.causes.length) {
      L.push("Set up by:", "");
      for (const c of v.causes) L.push(`- event ${c.seq} (${c.kind}): ${mdEscape(c.why)}`);
      L.push("");
    }
    L.push("### Events leading to it", "");
    L.push(
      ...mdTable(["seq", "time (ns)", "cpu", "tid", "kind", "event", ""], eventRows(src, v.seq, v.causes, scan.state), [
        true,
        true,
        true,
        true,
      ]),
    );
    L.push("");
    L.push(
      ...diagramSection(
        src,
        v.seq,
        v.causes.map((c) => c.seq),
        scan.state,
        v,
      ),
    );
    L.push(`### State of the objects involved, after event ${v.seq}`, "");
    L.push(...stateTables(stateView(scan.state), involved(src, v, null, scan.state)));
  } else if (failed && outcome) {
    L.push("## No invariant violation", "", `No invariant broke before the ${outcome.kind}; the events before it:`, "");
    const st = scan.state;
    L.push(
      ...mdTable(["seq", "time (ns)", "cpu", "tid", "kind", "event", ""], eventRows(src, outcome.seq, [], st), [
        true,
        true,
        true,
        true,
      ]),
    );
    L.push("");
    L.push(...diagramSection(src, outcome.seq, [], st, null));
  } else {
    L.push(
      "## No invariant violation",
      "",
      `Checked ${imp ? `${invs.map((i) => mdCode(i.name)).join(", ")}` : "every invariant"} over all ${r.eventCount} events: none broke.`,
      "",
    );
  }
  if (notEvaluated.length) {
    L.push("Not evaluated on an imported trace (no such data in a real trace):", "");
    for (const ne of notEvaluated) L.push(`- ${mdCode(ne.invariant)}: ${mdEscape(ne.reason)}`);
    L.push("");
  }

  L.push(...scheduleSection(x.schedule, (list) => recordCommand(r, list).command));
  L.push("## Reproduce", "");
  const at = v ? "violation" : outcome && outcome.kind === "panic" ? "panic" : "end";
  L.push("```sh");
  if (imp) {
    const file = basename(x.path);
    L.push(`ktrace import ${sh(imp.file)} --format ${sh(imp.format)} -o ${sh(file)}`);
    L.push(`ktrace check ${sh(file)}`);
    L.push(`ktrace replay ${sh(file)} --at ${at}`);
  } else {
    if (!rec.known) L.push(`# ${safeText(m.scenario)}.ts: the scenario file this trace was recorded from`);
    L.push(rec.command);
    L.push(`ktrace check ${sh(rec.file)}`);
    L.push(`ktrace replay ${sh(rec.file)} --at ${at}`);
  }
  L.push("```", "");

  const gz = traceBytes(x.path);
  const gzBytes = gz ? gz.length : 0;
  const embedded = gz !== null && gz.length <= EMBED_LIMIT;
  if (embedded) {
    const reportName = x.output ? basename(x.output) : "report.md";
    L.push(
      `The trace is embedded below: every ktrace command that takes a trace reads it from this report${x.output ? "" : " saved as a file"} (or from the block pasted into any file):`,
      "",
    );
    L.push("```sh");
    L.push(`ktrace info ${sh(reportName)}`);
    L.push(`ktrace replay ${sh(reportName)} --at ${at}`);
    L.push("```", "");
    L.push("<details>");
    L.push(
      `<summary>Trace ${mdEscape(basename(x.path))} (${gz!.length.toLocaleString("en-US")} bytes gzip'd, base64)</summary>`,
      "",
    );
    L.push("```text");
    L.push(embedTrace(gz!, basename(x.path).replace(/\.(md|markdown|txt)$/i, ".ktrace.gz")));
    L.push("```", "");
    L.push("</details>", "");
  } else if (gz) {
    L.push(
      `The trace (${gz.length.toLocaleString("en-US")} bytes gzip'd) is larger than ${EMBED_LIMIT / 1024} KB, so it is not embedded: record it with the command above, or attach the file.`,
      "",
    );
  }
  L.push(`<sub>Written by \`ktrace report\` (ktrace ${x.version}).</sub>`, "");
  return { markdown: L.join("\n"), embedded, gzipBytes: gzBytes, violation: v };
}
