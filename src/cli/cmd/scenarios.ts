// ktrace scenarios [--json]: the built-in scenarios, their fixes and options.

import { MEMORY_MODELS } from "../../kernel/index.ts";
import { MEMORY_OPTION, SCENARIOS } from "../../scenarios/index.ts";
import type { ParsedArgs } from "../args.ts";
import { color, printJson, println } from "../io.ts";

export async function run(args: ParsedArgs<"scenarios">): Promise<number> {
  if (args.flags.json) {
    printJson({
      everyScenario: { options: [{ name: MEMORY_OPTION, values: MEMORY_MODELS, default: "sc" }] },
      scenarios: SCENARIOS.map((s) => ({
        name: s.name,
        description: s.description,
        upstream: s.upstream ?? null,
        fixes: Object.entries(s.fixes).map(([name, description]) => ({ name, description })),
        options: Object.entries(s.options ?? {}).map(([name, o]) => ({
          name,
          values: o.values,
          default: o.default,
          description: o.doc,
        })),
        defaults: {
          seed: s.defaults?.seed ?? 1,
          cpus: s.defaults?.cpus ?? 2,
          maxEvents: s.defaults?.maxEvents ?? null,
        },
      })),
    });
    return 0;
  }
  for (const s of SCENARIOS) {
    println(`${color.bold(s.name)}  ${s.description}`);
    if (s.upstream) println(color.dim(`    upstream: ${s.upstream}`));
    for (const [name, d] of Object.entries(s.fixes)) println(`    --fix ${name}: ${d}`);
    for (const [name, o] of Object.entries(s.options ?? {}))
      println(`    --opt ${name}=${o.values.join("|")} (default ${o.default}): ${o.doc}`);
    println();
  }
  println(
    `every scenario (these and your own files) also takes --opt ${MEMORY_OPTION}=${MEMORY_MODELS.join("|")} (default sc, or its rules' memory): tso runs it with x86 store buffers, pso with SPARC's (a store may overtake an older one to another variable) (docs/SCENARIOS.md, "Memory models")`,
  );
  println(color.dim("record one: ktrace record <name> [--fix NAME] [--seed N]; or write your own: docs/SCENARIOS.md"));
  return 0;
}
