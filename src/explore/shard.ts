// Shards: `ktrace explore … --shard I/N` runs the I-th of N slices of the seed
// range, so many machines can share one exploration with no coordinator
// (a Kubernetes Indexed Job, a GitHub Actions matrix, a Slurm array), and
// `ktrace merge` turns their --json outputs into what one run prints.
//
// Slicing rule: contiguous and balanced. With T seeds from..to, shard I
// (0 <= I < N) covers from + floor(I*T/N) .. from + floor((I+1)*T/N) - 1, so
// the slices are in order, cover the range exactly once, and differ in size
// by at most one seed (when N > T some are empty). A shard's slice is an
// ordinary range: `explore --seeds` over it gives the same seeds.
//
// `auto/N` takes I from the environment of a batch engine (the first set of
// SHARD_ENV); the caller says which variable it used.

/** A parsed --shard: a fixed index, or one to read from the environment. */
export type ShardSpec = { index: number; count: number } | { index: "auto"; count: number };

/** A shard resolved: its index, the count, and where the index came from. */
export interface Shard {
  index: number;
  count: number;
  /** "JOB_COMPLETION_INDEX=3" when read from the environment; "" when given. */
  source: string;
}

/** Most shards a run may be cut into. */
export const MAX_SHARDS = 1_000_000;

/** A bad --shard value or environment: exitCode 2. */
export class ShardError extends Error {
  readonly exitCode = 2;
  readonly hint?: string;
  constructor(message: string, hint?: string) {
    super(message);
    if (hint !== undefined) this.hint = hint;
  }
}

/**
 * The environment variables auto/N reads, in order: the first one set wins.
 * `base` is a variable holding the index's first value (subtracted), for
 * arrays numbered from 1.
 */
export const SHARD_ENV: readonly { name: string; engine: string; base?: string }[] = [
  { name: "JOB_COMPLETION_INDEX", engine: "Kubernetes Indexed Job" },
  { name: "SLURM_ARRAY_TASK_ID", engine: "Slurm job array", base: "SLURM_ARRAY_TASK_MIN" },
  { name: "AWS_BATCH_JOB_ARRAY_INDEX", engine: "AWS Batch array job" },
];

const INT = /^(0|[1-9][0-9]{0,15})$/;

/** Parses `I/N` or `auto/N` (0 <= I < N). Throws ShardError. */
export function parseShard(raw: string): ShardSpec {
  const m = /^([^/]*)\/([^/]*)$/.exec(raw);
  const eg = "e.g. --shard 0/4 for the first of 4 slices, or --shard auto/4 under a batch engine";
  if (!m) throw new ShardError(`--shard expects I/N or auto/N, got '${raw}'`, eg);
  const [, i, n] = m as unknown as [string, string, string];
  if (!INT.test(n) || Number(n) < 1 || Number(n) > MAX_SHARDS) {
    throw new ShardError(
      `--shard ${raw}: the shard count N must be between 1 and ${MAX_SHARDS.toLocaleString("en-US")}`,
      eg,
    );
  }
  const count = Number(n);
  if (i === "auto") return { index: "auto", count };
  if (!INT.test(i))
    throw new ShardError(`--shard ${raw}: the shard index must be a number from 0 to ${count - 1}, or auto`, eg);
  const index = Number(i);
  if (index >= count)
    throw new ShardError(
      `--shard ${raw}: index ${index} is out of range for ${count} shard${count === 1 ? "" : "s"} (0..${count - 1}; indexes start at 0)`,
    );
  return { index, count };
}

/** Resolves auto/N from `env`. Throws ShardError when no variable is set or its value does not fit. */
export function resolveShard(spec: ShardSpec, env: Record<string, string | undefined>): Shard {
  if (spec.index !== "auto") return { index: spec.index, count: spec.count, source: "" };
  const found = SHARD_ENV.find((v) => env[v.name] !== undefined && env[v.name] !== "");
  if (!found) {
    throw new ShardError(
      `--shard auto/${spec.count}: none of ${SHARD_ENV.map((v) => v.name).join(", ")} is set`,
      `give the index yourself, e.g. --shard 0/${spec.count}`,
    );
  }
  const raw = env[found.name]!;
  if (!INT.test(raw))
    throw new ShardError(`--shard auto/${spec.count}: ${found.name}='${raw}' is not a shard index (a number from 0)`);
  let index = Number(raw);
  let source = `${found.name}=${raw}`;
  const baseRaw = found.base !== undefined ? env[found.base] : undefined;
  if (found.base !== undefined && baseRaw !== undefined && baseRaw !== "") {
    if (!INT.test(baseRaw) || Number(baseRaw) > index)
      throw new ShardError(`--shard auto/${spec.count}: ${found.base}='${baseRaw}' does not fit ${found.name}=${raw}`);
    index -= Number(baseRaw);
    if (Number(baseRaw) !== 0) source += ` - ${found.base}=${baseRaw}`;
  }
  if (index >= spec.count) {
    throw new ShardError(
      `--shard auto/${spec.count}: ${source} gives index ${index}, out of range for ${spec.count} shard${spec.count === 1 ? "" : "s"} (0..${spec.count - 1})`,
      `the ${found.engine} must run exactly ${spec.count} tasks, numbered from 0`,
    );
  }
  return { index, count: spec.count, source };
}

/** The seeds of shard `index` of `count` over from..to: {from, to}, empty when to < from. */
export function shardRange(from: number, to: number, index: number, count: number): { from: number; to: number } {
  const total = to - from + 1;
  // BigInt-free and exact: total <= 2^53 and count <= 1e6, so split the product.
  const at = (i: number) => from + cut(total, i, count);
  return { from: at(index), to: at(index + 1) - 1 };
}

/** floor(total * i / count), exactly, for safe integers. */
function cut(total: number, i: number, count: number): number {
  const q = Math.floor(total / count);
  const r = total - q * count;
  return q * i + Math.floor((r * i) / count);
}
