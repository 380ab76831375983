// The report's Mermaid sequence diagram (GitHub renders ```mermaid blocks):
// the threads, locks and processes in the events that led to a violation, and
// what passed between them (acquire, wait, release, fork, exec, exit, reap,
// procfs reads), ending on a note naming the violation.
//
// Bounded: the cause events and the window before the violation, at most
// MAX_MESSAGES messages and MAX_PARTICIPANTS participants (the events nearest
// the violation are kept). Every text from the trace (lock and process names,
// messages) goes through mmText, so no trace string can end the block or
// inject Mermaid syntax: only letters, digits, spaces and a few punctuation
// marks pass (not `#`, `;`, `<`, `>`, backticks or line breaks, which Mermaid
// or Markdown would read); everything else becomes a Mermaid entity code (#NNN;).

import { KIND, type KState } from "../kernel/index.ts";
import { eventJson, eventOrNull, type ReplaySource, waitVerb, withStates } from "../replay/index.ts";
import { safeText } from "../util/safe-text.ts";
import { cut } from "../util/text-table.ts";

/** Events before the violation looked at (besides its causes). */
export const WINDOW = 32;
export const MAX_MESSAGES = 40;
export const MAX_PARTICIPANTS = 12;
/** Longest label, in terminal cells before escaping. */
const MAX_LABEL = 160;

/**
 * Text safe inside a Mermaid sequence diagram line (participant alias,
 * message, note): the one rule first (safeText: controls and bidi marks
 * become visible escapes), cut as every other text is (text-table.ts: never
 * inside a grapheme; bounded in characters too, for zero-width runs), then a
 * stricter alphabet (see the file comment).
 */
export function mmText(s: string): string {
  const short = cut(safeText(s.slice(0, 4 * MAX_LABEL).replace(/\s+/g, " ")), MAX_LABEL);
  let out = "";
  for (const ch of short) out += /^[A-Za-z0-9 .,:_()[\]/=+\-→≠…']$/.test(ch) ? ch : `#${ch.codePointAt(0)};`;
  return out;
}

/** What the diagram shows about one event, or null for an event it leaves out. */
type Arrow = "->>" | "-->>" | "-x";
type Step =
  | { type: "msg"; from: string; to: string; arrow: Arrow; text: string }
  | { type: "note"; over: string[]; text: string };

interface Names {
  thread(tid: number): string;
  lock(id: number): string;
  proc(pid: number): string;
}

function stepOf(
  seq: number,
  kind: string,
  tid: number,
  args: Record<string, number | string>,
  s: KState,
  id: Names,
  /** For a lock-wait: the lock's owner when it happened (-1: unknown). */
  waitOwner: number,
): Step | null {
  const T = tid >= 0 ? id.thread(tid) : null;
  const num = (k: string) => Number(args[k]);
  const str = (k: string) => String(args[k] ?? "");
  const at = `${seq}: `;
  // A message from `from` (a thread, so null when the event has none) to `to`.
  const msg = (from: string | null, to: () => string, arrow: Arrow, text: string): Step | null =>
    from === null ? null : { type: "msg", from, to: to(), arrow, text: at + text };
  const lock = () => id.lock(num("lock"));
  const proc = () => id.proc(num("pid"));
  switch (kind) {
    case "lock-acquire":
      return msg(T, lock, "->>", `acquire${num("level") > 1 ? ` (level ${num("level")})` : ""}`);
    case "lock-wait": {
      const owner = waitOwner;
      // describe.ts's verb (spins, blocks; waits: a wait of an imported trace), its first word.
      const verb = waitVerb(num("spin")).split(" ")[0];
      return msg(T, lock, "-->>", `${verb}${owner >= 0 ? ` (held by tid ${owner})` : ""}`);
    }
    case "lock-release":
      return T
        ? {
            type: "msg",
            from: id.lock(num("lock")),
            to: T,
            arrow: "-->>",
            text: `${at}released${num("level") > 0 ? ` (level ${num("level")} left)` : ""}`,
          }
        : null;
    case "unlock-not-owner":
      return msg(T, lock, "-x", `unlock, owner ident ${num("ident")} ≠ ${num("owner")}`);
    case "lock-restamp":
      return msg(T, lock, "->>", `re-stamp owner ident ${num("ident")}`);
    case "fork":
    case "spawn":
      return msg(
        T,
        () => id.proc(num("child")),
        "->>",
        `${kind === "fork" ? "fork" : "posix_spawn"} → pid ${num("child")} (tid ${num("childTid")})`,
      );
    case "exec":
      return { type: "note", over: [id.proc(num("pid"))], text: `${at}exec ${str("program")}` };
    case "thread-exit":
      return T ? { type: "note", over: [T], text: `${at}exits (code ${num("code")})` } : null;
    case "exit-group":
      return msg(T, proc, "-x", `exit(${num("code")})`);
    case "proc-exit":
      return { type: "note", over: [id.proc(num("pid"))], text: `${at}zombie (exit code ${num("code")})` };
    case "vmar-clear":
      return { type: "note", over: [id.proc(num("pid"))], text: `${at}root VMAR set to None` };
    case "reap":
      return msg(T, proc, "-x", "reap");
    case "wait-block":
      return T
        ? num("pid") >= 0
          ? msg(T, proc, "-->>", "waitpid")
          : { type: "note", over: [T], text: `${at}waitpid(any child)` }
        : null;
    case "procfs-read": {
      const how =
        num("rss") === 2
          ? "unwrap() of its VMAR"
          : num("rss") === 1
            ? "VmRSS from its VMAR"
            : "VMAR None, RSS left out";
      return msg(T, proc, "->>", `read /proc/${num("pid")}/status: ${how}`);
    }
    case "kstack-free": {
      const owner = s.kstacks.get(num("kstack"))?.tid ?? -1;
      return owner >= 0
        ? { type: "note", over: [id.thread(owner)], text: `${at}kernel stack ${num("kstack")} freed` }
        : null;
    }
    case "page-fault":
      return T ? { type: "note", over: [T], text: `${at}page fault on kernel stack ${num("kstack")}` } : null;
    case "fatal":
      return { type: "note", over: [T ?? id.proc(num("pid"))], text: `${at}FATAL ${str("message")}` };
    case "panic":
    case "hang":
      return T ? { type: "note", over: [T], text: `${at}${kind.toUpperCase()} ${str("message")}` } : null;
    default:
      return null;
  }
}

/**
 * The ```mermaid block of the events that led to the violation at `seq`
 * (`causes`: the seqs that set it up), or [] when no event in the window
 * involves a thread, lock or process. `state` names things (the state at the
 * violation).
 */
export function sequenceDiagram(
  src: ReplaySource,
  seq: number,
  causes: readonly number[],
  state: KState,
  violation: { invariant: string; message: string } | null,
): string[] {
  const picked = new Set<number>(causes.filter((c) => c >= 0 && c < seq));
  for (let q = Math.max(0, seq - WINDOW); q <= seq && q < src.eventCount; q++) picked.add(q);
  // Participants in order of first appearance; ids are ours (T3, L5, P2), labels are escaped.
  const order: string[] = [];
  const labels = new Map<string, string>();
  const use = (key: string, label: () => string) => {
    if (!labels.has(key)) {
      labels.set(key, label());
      order.push(key);
    }
    return key;
  };
  const names: Names = {
    thread: (tid) =>
      use(`T${tid}`, () => {
        const t = state.threads.get(tid);
        return `tid ${tid}${t ? ` (pid ${t.pid})` : ""}`;
      }),
    lock: (id) =>
      use(`L${id}`, () => {
        const l = state.locks.get(id);
        return l ? `${l.name} (${l.space === 0 ? "kernel" : `pid ${l.space}`})` : `lock ${id}`;
      }),
    proc: (pid) =>
      use(`P${pid}`, () => {
        const p = state.procs.get(pid);
        return `pid ${pid}${p ? ` ${p.name}` : ""}`;
      }),
  };
  // The violation and its causes first (their threads and locks are the story),
  // then the window newest first, so the limits keep what is nearest the violation.
  const key = new Set<number>([seq, ...causes.filter((c) => picked.has(c))]);
  const seqs = [...[...key].sort((x, y) => y - x), ...[...picked].filter((q) => !key.has(q)).sort((x, y) => y - x)];
  // A lock-wait names the owner the lock had then (the state just after the wait), not at the violation.
  const waitOwners = new Map<number, number>();
  withStates(src, seqs, (e, st) => {
    if (e.kind === KIND.lockWait) waitOwners.set(e.seq, st?.locks.get(e.a)?.owner ?? -1);
  });
  const steps: { seq: number; step: Step }[] = [];
  for (const q of seqs) {
    if (steps.length >= MAX_MESSAGES) break;
    // An event missing from a damaged trace is left out of the diagram.
    const ev = eventOrNull(src, q);
    if (ev === null) continue;
    const j = eventJson(ev);
    const before = order.length;
    const step = stepOf(q, j.kind, ev.tid, j.args, state, names, waitOwners.get(q) ?? -1);
    if (step === null) continue;
    if (order.length > MAX_PARTICIPANTS) {
      // Forget participants this step added: the diagram keeps to the most recent ones.
      for (const k of order.splice(before)) labels.delete(k);
      continue;
    }
    steps.push({ seq: q, step });
  }
  if (steps.length === 0) return [];
  steps.sort((x, y) => x.seq - y.seq);
  // Participants in order of first appearance along the diagram.
  const seen: string[] = [];
  const see = (k: string) => {
    if (!seen.includes(k)) seen.push(k);
  };
  for (const { step } of steps) {
    if (step.type === "msg") {
      see(step.from);
      see(step.to);
    } else step.over.forEach(see);
  }
  // The violation's note goes over its thread, declared when no step drew it (an event the diagram does not
  // draw, as a switch), while there is room; else over the last step's first participant.
  const vEv = eventOrNull(src, seq);
  const vThread = vEv !== null && vEv.tid >= 0 ? names.thread(vEv.tid) : null;
  if (vThread !== null && !seen.includes(vThread) && seen.length < MAX_PARTICIPANTS) seen.push(vThread);
  const vOver =
    vThread !== null && seen.includes(vThread)
      ? vThread
      : steps[steps.length - 1]!.step.type === "msg"
        ? (steps[steps.length - 1]!.step as { from: string }).from
        : (steps[steps.length - 1]!.step as { over: string[] }).over[0]!;
  const L = ["```mermaid", "sequenceDiagram"];
  for (const k of seen) L.push(`    participant ${k} as ${mmText(labels.get(k)!)}`);
  for (const { step } of steps) {
    if (step.type === "msg") L.push(`    ${step.from}${step.arrow}${step.to}: ${mmText(step.text)}`);
    else L.push(`    Note over ${step.over.join(",")}: ${mmText(step.text)}`);
  }
  if (violation)
    L.push(`    Note over ${vOver}: ${mmText(`${seq}: VIOLATION ${violation.invariant}: ${violation.message}`)}`);
  L.push("```");
  return L;
}
