// The schedule as data: the answers a run's Chooser gave (src/kernel/sched.ts),
// in the order it was asked, so the run can be re-simulated from them alone,
// without the PRNG that made them. One binary layout (docs/FORMAT.md,
// "Schedule chunk"), used by the trace's schedule chunk and, base64url-coded,
// by the compact string `ktrace record --schedule` reads and `shrink` prints.
//
// The kinds of question are kept apart, each in the order asked: the order
// in which a run asks them depends only on the answers given so far, so the
// ordered lists replay the run exactly.
//
// Layout (uvar = unsigned LEB128):
//   uvar version (1), uvar cpus,
//   uvar P, P × uvar tid                   picks: the thread a free cpu took
//   uvar Q, uvar Y, Y × (uvar gap, uvar tid) preemptions: Q questions; the yes
//                                          answers as the gap from the previous
//                                          yes's question index (+1), and the
//                                          thread preempted
//   uvar J, ceil(J/4) bytes                timing draws, 2 bits each (value-1),
//                                          lowest bits first
//   [uvar D, uvar E, E × (uvar gap, uvar tid)] drain questions (tso runs only;
//                                          absent when none was asked, so an
//                                          sc run's bytes are as before): D
//                                          questions, the yes answers (the
//                                          oldest buffered store of tid reached
//                                          memory) coded as preemptions are
// Every count is checked against the bytes left before anything is allocated.

import { ByteReader, ByteWriter, ShortRead } from "./bytes.ts";

export const SCHEDULE_VERSION = 1;

/** A preemption the scheduler made: the question's index (0-based, among all preemption questions) and the thread it switched out. */
export interface PreemptYes {
  at: number;
  tid: number;
}

/** The decisions of one run, in the order the scheduler asked for them. */
export interface Schedule {
  /** CPUs of the run the decisions were made on. */
  cpus: number;
  /** The thread taken at each pick (a free cpu choosing among two or more ready threads). */
  picks: number[];
  /** Preemption questions asked, and those answered yes (increasing `at`). */
  preempts: { asked: number; yes: PreemptYes[] };
  /** Timing draws, each 1..4: the multiplier on a step's base cost. */
  jitter: Uint8Array;
  /** tso runs: drain questions asked (Chooser.drain), and those answered yes (increasing `at`); absent: none asked. */
  drains?: { asked: number; yes: PreemptYes[] };
}

/** A decision list that does not decode, or does not fit: one line (exitCode 2). */
export class ScheduleError extends Error {
  readonly exitCode = 2;
}

/** Largest count a schedule may hold in any list (questions asked included). */
const MAX_COUNT = 2 ** 40;
/** Largest tid accepted. */
const MAX_TID = 2 ** 31 - 1;

export function emptySchedule(cpus: number): Schedule {
  return { cpus, picks: [], preempts: { asked: 0, yes: [] }, jitter: new Uint8Array(0) };
}

/** The schedule's bytes (the layout above). */
export function encodeSchedule(s: Schedule): Uint8Array {
  const w = new ByteWriter(64 + s.picks.length * 2 + s.preempts.yes.length * 3 + (s.jitter.length >> 2));
  w.uvar(SCHEDULE_VERSION);
  w.uvar(s.cpus);
  w.uvar(s.picks.length);
  for (const t of s.picks) w.uvar(t);
  yesList(w, s.preempts.asked, s.preempts.yes);
  const j = s.jitter;
  w.uvar(j.length);
  const n = (j.length + 3) >> 2;
  w.ensure(n);
  for (let i = 0; i < n; i++) {
    let b = 0;
    for (let k = 0; k < 4; k++) {
      const v = j[i * 4 + k];
      if (v !== undefined) b |= ((v - 1) & 3) << (2 * k);
    }
    w.u8(b);
  }
  const d = s.drains;
  if (d !== undefined && d.asked > 0) yesList(w, d.asked, d.yes);
  return w.toBytes();
}

/** A list of yes/no questions as the layout codes it: the count asked, then each yes as (gap, tid). */
function yesList(w: ByteWriter, asked: number, yes: readonly PreemptYes[]): void {
  w.uvar(asked);
  w.uvar(yes.length);
  let prev = -1;
  for (const y of yes) {
    w.uvar(y.at - prev - 1);
    w.uvar(y.tid);
    prev = y.at;
  }
}

/** Decodes schedule bytes (untrusted). Throws ScheduleError with what is wrong. */
export function decodeSchedule(bytes: Uint8Array, maxCpus: number): Schedule {
  const r = new ByteReader(bytes);
  const count = (what: string, per: number): number => {
    const n = r.uvar();
    if (n > MAX_COUNT || n * per > r.left)
      throw new ScheduleError(`${what}: ${n} entries, more than the ${r.left} bytes left can hold`);
    return n;
  };
  try {
    const version = r.uvar();
    if (version !== SCHEDULE_VERSION)
      throw new ScheduleError(`version ${version}; this ktrace reads version ${SCHEDULE_VERSION}`);
    const cpus = r.uvar();
    if (cpus < 1 || cpus > maxCpus) throw new ScheduleError(`${cpus} cpus, outside 1..${maxCpus}`);
    const np = count("picks", 1);
    const picks = new Array<number>(np);
    for (let i = 0; i < np; i++) picks[i] = tid(r.uvar(), `pick ${i}`);
    /** A yes/no list (yesList's layout), its answers named `what`. */
    const yesNo = (what: string, trailing = false): { asked: number; yes: PreemptYes[] } => {
      const left = r.left;
      const asked = r.uvar();
      // The optional trailing list is written only when a question was asked.
      if (trailing && asked === 0) throw new ScheduleError(`${left} bytes left over after the decisions`);
      if (asked > MAX_COUNT) throw new ScheduleError(`${asked} ${what} questions, implausibly many`);
      const ny = count(`${what}s`, 2);
      if (ny > asked) throw new ScheduleError(`${ny} ${what}s among ${asked} questions`);
      const yes: PreemptYes[] = new Array(ny);
      let prev = -1;
      for (let i = 0; i < ny; i++) {
        const at = prev + 1 + r.uvar();
        if (at >= asked) throw new ScheduleError(`${what} ${i} answers question ${at}, but only ${asked} were asked`);
        yes[i] = { at, tid: tid(r.uvar(), `${what} ${i}`) };
        prev = at;
      }
      return { asked, yes };
    };
    const preempts = yesNo("preemption");
    const nj = r.uvar();
    if (nj > MAX_COUNT || (nj + 3) >> 2 > r.left)
      throw new ScheduleError(`${nj} timing draws, more than the ${r.left} bytes left can hold`);
    const jitter = new Uint8Array(nj);
    const packed = r.bytes((nj + 3) >> 2);
    for (let i = 0; i < nj; i++) jitter[i] = ((packed[i >> 2]! >> (2 * (i & 3))) & 3) + 1;
    const out: Schedule = { cpus, picks, preempts, jitter };
    if (r.left > 0) out.drains = yesNo("drain", true);
    if (r.left !== 0) throw new ScheduleError(`${r.left} bytes left over after the decisions`);
    return out;
  } catch (e) {
    if (e instanceof ShortRead) throw new ScheduleError("cut short");
    throw e;
  }
}

function tid(v: number, what: string): number {
  if (v > MAX_TID) throw new ScheduleError(`${what} names thread ${v}, not a thread id`);
  return v;
}

/** Prefix of the compact string form. */
export const SCHEDULE_PREFIX = "ks1.";
/** Longest compact string read (a file of decisions may hold more: see docs/EXPLORE.md). */
export const MAX_SCHEDULE_TEXT = 64 * 1024 * 1024;

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/** The compact string that replays `s` exactly: "ks1." and the bytes in base64url (no padding). */
export function scheduleText(s: Schedule): string {
  const b = encodeSchedule(s);
  let out = SCHEDULE_PREFIX;
  for (let i = 0; i < b.length; i += 3) {
    const x = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    const n = Math.min(4, Math.ceil(((b.length - i) * 8) / 6));
    for (let k = 0; k < n; k++) out += B64[(x >> (18 - 6 * k)) & 63];
  }
  return out;
}

/** Parses a compact string (untrusted: surrounding white space is ignored). Throws ScheduleError. */
export function parseScheduleText(text: string, maxCpus: number): Schedule {
  const t = text.trim();
  if (t.length > MAX_SCHEDULE_TEXT) throw new ScheduleError(`longer than ${MAX_SCHEDULE_TEXT} characters`);
  if (!t.startsWith(SCHEDULE_PREFIX))
    throw new ScheduleError(`does not start with '${SCHEDULE_PREFIX}' (a decision list as 'ktrace shrink' prints it)`);
  const body = t.slice(SCHEDULE_PREFIX.length);
  if (body.length % 4 === 1) throw new ScheduleError("its base64 text has a stray character at the end");
  const out = new Uint8Array(Math.floor((body.length * 6) / 8));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    const v = c < 128 ? B64_INDEX[c]! : -1;
    if (v < 0) throw new ScheduleError(`character ${i + SCHEDULE_PREFIX.length + 1} is not base64url`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
      acc &= (1 << bits) - 1;
    }
  }
  return decodeSchedule(out.subarray(0, o), maxCpus);
}

/** Decisions a schedule holds that a user would call choices: picks and preemptions (timing draws apart). */
export function scheduleCounts(s: Schedule): { picks: number; preemptions: number; timing: number } {
  return { picks: s.picks.length, preemptions: s.preempts.yes.length, timing: s.jitter.length };
}
