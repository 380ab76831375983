// The import bench's input: a large ftrace text of a busy machine, generated
// deterministically (seeded), shared by bench/import.ts and the tests that
// check a long import (test/import-thread.test.ts).

import { createWriteStream, existsSync, renameSync } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { Rng } from "../src/kernel/index.ts";

/**
 * Lines of a busy 4-cpu machine (at least n events; a few more when the last
 * step writes several): 400 tasks, switches, waking/wakeup pairs, runtime
 * stats, IRQs and softirqs, fork/exec/exit/free, lock contention, lockdep
 * acquire/release. Chunks of whole lines.
 */
export function* generate(n: number): Generator<string> {
  const rng = new Rng(15);
  const r = (k: number) => rng.u32() % k;
  const CPUS = 4;
  const comm = (t: number) => (t === 0 ? "<idle>" : `worker${t % 97}`);
  const cur = [0, 0, 0, 0];
  let ns = 1_000_000_000n * 5000n;
  let next = 1000;
  const alive: number[] = [];
  for (let t = 0; t < 400; t++) alive.push(next++);
  yield "# tracer: nop\n#\n#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n#              | |         |   |||||     |         |\n";
  let i = 0;
  const line = (cpu: number, flags: string, ev: string) => {
    const t = cur[cpu]!;
    const s = ns / 1_000_000_000n;
    const us = ((ns % 1_000_000_000n) / 1000n).toString().padStart(6, "0");
    i++;
    return `${`${comm(t)}-${t}`.padStart(16)} [00${cpu}] ${flags} ${s}.${us}: ${ev}\n`;
  };
  while (i < n) {
    ns += BigInt(300 + r(2000));
    const cpu = r(CPUS);
    const t = cur[cpu]!;
    const k = r(100);
    let out = "";
    if (k < 30) {
      const to = r(5) === 0 ? 0 : alive[r(alive.length)]!;
      const st = t === 0 ? "R" : ["S", "D", "R+", "S", "I"][r(5)]!;
      out += line(
        cpu,
        "d..2.",
        `sched_switch: prev_comm=${t === 0 ? `swapper/${cpu}` : comm(t)} prev_pid=${t} prev_prio=120 prev_state=${st} ==> next_comm=${to === 0 ? `swapper/${cpu}` : comm(to)} next_pid=${to} next_prio=120`,
      );
      cur[cpu] = to;
    } else if (k < 55) {
      const w = alive[r(alive.length)]!;
      const tc = String(r(CPUS)).padStart(3, "0");
      out += line(cpu, "d..3.", `sched_waking: comm=${comm(w)} pid=${w} prio=120 target_cpu=${tc}`);
      out += line(cpu, "d..4.", `sched_wakeup: comm=${comm(w)} pid=${w} prio=120 target_cpu=${tc}`);
    } else if (k < 70) {
      out += line(cpu, ".....", `sched_stat_runtime: comm=${comm(t)} pid=${t} runtime=${r(1_000_000)} [ns]`);
    } else if (k < 78) {
      const irq = 16 + r(8);
      out += line(cpu, "d.h1.", `irq_handler_entry: irq=${irq} name=eth${irq}`);
      out += line(cpu, "d.h1.", `irq_handler_exit: irq=${irq} ret=handled`);
      out += line(cpu, "..s1.", `softirq_entry: vec=3 [action=NET_RX]`);
      out += line(cpu, "..s1.", `softirq_exit: vec=3 [action=NET_RX]`);
    } else if (k < 82 && t !== 0) {
      const c = next++;
      out += line(cpu, ".....", `task_newtask: pid=${c} comm=${comm(t)} clone_flags=1200000 oom_score_adj=0`);
      out += line(cpu, ".....", `sched_process_fork: comm=${comm(t)} pid=${t} child_comm=${comm(t)} child_pid=${c}`);
      out += line(cpu, ".....", `sched_process_exec: filename=/usr/bin/true pid=${c} old_pid=${c}`);
      out += line(cpu, ".....", `sched_process_exit: comm=${comm(c)} pid=${c} prio=120 group_dead=true`);
      out += line(cpu, ".....", `sched_process_free: comm=${comm(c)} pid=${c} prio=120`);
    } else if (k < 90 && t !== 0) {
      const a = `0xffff8881${String(r(64)).padStart(8, "0")}`;
      out += line(cpu, "...1.", `contention_begin: ${a} (flags=SPIN)`);
      out += line(cpu, "...1.", `contention_end: ${a} (ret=0)`);
    } else if (t !== 0) {
      const a = `00000000${String(r(16)).padStart(8, "0")}`;
      out += line(cpu, "...1.", `lock_acquire: ${a} &obj->lock`);
      out += line(cpu, "...1.", `lock_release: ${a} &obj->lock`);
    }
    if (out !== "") yield out;
  }
}

/** Writes generate(n) to `file` (gzip'd when `gzip`), unless it exists already (it is the same). */
export async function writeInput(file: string, n: number, gzip: boolean): Promise<void> {
  if (existsSync(file)) return;
  // Batch lines into 256 KiB strings so writing does not dominate generation.
  async function* chunks() {
    let buf = "";
    for (const s of generate(n)) {
      buf += s;
      if (buf.length > 262144) {
        yield buf;
        buf = "";
      }
    }
    if (buf !== "") yield buf;
  }
  const src = Readable.from(chunks());
  if (gzip) await pipeline(src, createGzip(), createWriteStream(file + ".tmp"));
  else await pipeline(src, createWriteStream(file + ".tmp"));
  renameSync(file + ".tmp", file);
}
