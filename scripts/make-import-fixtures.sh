#!/usr/bin/env bash
# Capture the *real* import fixtures (fixtures/import/real/) on this machine.
#
# Needs root, a mounted tracefs (mount -t tracefs nodev /sys/kernel/tracing),
# perf, and trace-cmd (apt-get install -y trace-cmd). `trace-cmd record` cannot
# run in a container whose /proc/sys is read-only (it writes ftrace_enabled), so
# events are enabled through tracefs by hand and `trace-cmd extract` saves the
# buffers into a trace.dat, which `trace-cmd report` prints.
#
# The hand-written fixtures (fixtures/import/*.txt) come from
# scripts/make-import-fixtures.ts, not from here. LTTng kernel tracing needs
# kernel modules that this machine does not have: there are no real babeltrace2
# fixtures (see fixtures/import/README.md).
#
# Every capture is scrubbed: file names outside /usr and /bin and host names are
# replaced, and each file is cut to its first MAX_LINES lines.
#
# Usage: bash scripts/make-import-fixtures.sh   (from the repo root)
set -euo pipefail

OUT=fixtures/import/real
T=/sys/kernel/tracing
MAX_LINES=${MAX_LINES:-400}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"; disable_events' EXIT

EVENTS="sched/sched_switch sched/sched_wakeup sched/sched_waking sched/sched_wakeup_new
sched/sched_process_fork sched/sched_process_exec sched/sched_process_exit
sched/sched_process_free sched/sched_process_wait sched/sched_migrate_task
task/task_newtask task/task_rename irq/irq_handler_entry irq/irq_handler_exit
irq/softirq_entry irq/softirq_exit lock/contention_begin lock/contention_end"

# The workload: forks, execs, a pipe (wakeups), waits, a short sleep.
workload() {
  sh -c 'for i in 1 2 3; do ls / >/dev/null & done; echo x | cat >/dev/null; wait; sleep 0.005'
}

disable_events() {
  [ -w "$T/tracing_on" ] || return 0
  echo "${TRACING_ON:-1}" > "$T/tracing_on" || true
  echo > "$T/trace" || true
  for e in $EVENTS; do echo 0 > "$T/events/$e/enable" 2>/dev/null || true; done
  echo 0 > "$T/options/record-tgid" 2>/dev/null || true   # the defaults
  echo 1 > "$T/options/irq-info" 2>/dev/null || true
}

# Record the workload into the tracefs ring buffer.
ftrace_run() {
  echo 0 > "$T/tracing_on"
  echo > "$T/trace"
  for e in $EVENTS; do echo 1 > "$T/events/$e/enable"; done
  echo 1 > "$T/tracing_on"
  workload
  echo 0 > "$T/tracing_on"
}

scrub() {
  # Paths of programs that are not system ones, and this machine's name.
  sed -E \
    -e 's#filename=/(work|tmp|root|home|proc|dev)/[^ ]*#filename=/usr/bin/redacted#g' \
    -e "s#$(hostname)#host#g" \
  | head -n "$MAX_LINES"
}

if [ ! -r "$T/trace" ]; then
  echo "tracefs is not mounted at $T (mount -t tracefs nodev $T)" >&2
  exit 2
fi
mkdir -p "$OUT"
TRACING_ON=$(cat "$T/tracing_on")   # restored at exit, with the default options

# 1. /sys/kernel/tracing/trace as is (irq-info columns, no tgid).
ftrace_run
scrub < "$T/trace" > "$OUT/tracefs-irqinfo.txt"

# 2. The same file with the tgid column and without irq-info.
echo 1 > "$T/options/record-tgid"
echo 0 > "$T/options/irq-info"
ftrace_run
scrub < "$T/trace" > "$OUT/tracefs-tgid-noirq.txt"
echo 0 > "$T/options/record-tgid"
echo 1 > "$T/options/irq-info"

# 3. trace-cmd report: with its sched plugin (default), without plugins (-N),
#    and latency format (-l).
ftrace_run
trace-cmd extract -o "$WORK/trace.dat" > /dev/null 2>&1
trace-cmd report -i "$WORK/trace.dat" 2>/dev/null | scrub > "$OUT/trace-cmd-report.txt"
trace-cmd report -N -i "$WORK/trace.dat" 2>/dev/null | scrub > "$OUT/trace-cmd-report-noplugin.txt"
trace-cmd report -l -i "$WORK/trace.dat" 2>/dev/null | scrub > "$OUT/trace-cmd-report-latency.txt"
head -c 64 "$WORK/trace.dat" > "$OUT/trace-dat-head.bin"
disable_events

# 4. perf script: default fields, and -F with pid/tid.
perf record -q -o "$WORK/perf.data" -e 'sched:*' -e 'task:*' -e 'irq:*' -a -- sh -c "$(declare -f workload); workload" > /dev/null 2>&1
perf script -i "$WORK/perf.data" 2>/dev/null | scrub > "$OUT/perf-script.txt"
perf script -i "$WORK/perf.data" -F comm,pid,tid,cpu,time,event,trace 2>/dev/null | scrub > "$OUT/perf-script-pid.txt"

ls -l "$OUT"
