// The deploy files (deploy/kubernetes/explore.yaml, deploy/github-actions/explore.yml)
// are valid YAML with the fields their engines need, and their shell steps,
// run here as the engine would run them, give shards whose merge equals one
// unsharded run byte for byte.

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { REPO_ROOT, runCli } from "./helpers/run-cli.ts";

const dir = mkdtempSync(join(tmpdir(), "ktrace-deploy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const KTRACE = `${join(REPO_ROOT, "node_modules", ".bin", "bun")} ${join(REPO_ROOT, "src", "cli", "main.ts")}`;

/** Every document of a YAML file, parsed strictly (any YAML error fails the test). */
function yamlDocs(path: string): any[] {
  const docs = parseAllDocuments(readFileSync(join(REPO_ROOT, path), "utf8"), { strict: true, uniqueKeys: true });
  for (const d of docs) expect(d.errors, path).toEqual([]);
  return docs.map((d) => d.toJS());
}

const envOf = (c: { env: { name: string; value: string }[] }) =>
  Object.fromEntries(c.env.map((e) => [e.name, e.value]));

function sh(
  script: string,
  env: Record<string, string>,
  cwd = dir,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("/bin/sh", ["-c", script], {
    cwd,
    env: { ...process.env, NO_COLOR: "1", ...env },
    encoding: "utf8",
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("deploy/kubernetes/explore.yaml", () => {
  const [pvc, job, merge] = yamlDocs("deploy/kubernetes/explore.yaml");

  it("is an Indexed Job whose pods each run one shard, and a merge Job over the shared volume", () => {
    expect(pvc).toMatchObject({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      spec: { accessModes: ["ReadWriteMany"] },
    });
    expect(job).toMatchObject({ apiVersion: "batch/v1", kind: "Job", spec: { completionMode: "Indexed" } });
    const spec = job.spec;
    expect(Number.isInteger(spec.completions) && spec.completions > 1).toBe(true);
    expect(spec.parallelism).toBeGreaterThan(0);
    expect(spec.parallelism).toBeLessThanOrEqual(spec.completions);
    expect(spec.template.spec.restartPolicy).toBe("Never");
    const c = spec.template.spec.containers[0];
    const env = envOf(c);
    // N in --shard auto/N is the Job's completions; the index comes from JOB_COMPLETION_INDEX.
    expect(Number(env.SHARDS)).toBe(spec.completions);
    expect(c.args[0]).toContain('--shard "auto/$SHARDS"');
    expect(c.args[0]).toContain("$JOB_COMPLETION_INDEX");
    expect(spec.podFailurePolicy.rules).toContainEqual({
      action: "FailJob",
      onExitCodes: { containerName: c.name, operator: "In", values: [2] },
    });
    const claim = (p: any) => p.volumes.find((v: any) => v.persistentVolumeClaim)?.persistentVolumeClaim.claimName;
    expect(claim(spec.template.spec)).toBe(pvc.metadata.name);
    // The merge Job waits for every shard, on the same volume.
    expect(merge).toMatchObject({ apiVersion: "batch/v1", kind: "Job" });
    const m = merge.spec.template.spec;
    expect(claim(m)).toBe(pvc.metadata.name);
    expect(Number(envOf(m.initContainers[0]).SHARDS)).toBe(spec.completions);
    expect(m.containers[0].args[0]).toContain("merge");
  });

  it("its shard and merge scripts, run with JOB_COMPLETION_INDEX as Kubernetes sets it, reproduce the unsharded run", async () => {
    const results = join(dir, "k8s");
    mkdirSync(results);
    const env: Record<string, string> = {
      ...envOf(job.spec.template.spec.containers[0]),
      SEEDS: "1..300",
      RESULTS: results,
      KTRACE,
    };
    for (let i = 0; i < job.spec.completions; i++) {
      const r = sh(job.spec.template.spec.containers[0].args[0], { ...env, JOB_COMPLETION_INDEX: String(i) });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toBe(`ktrace: shard ${i}/${job.spec.completions} (index from JOB_COMPLETION_INDEX=${i})\n`);
    }
    const wait = sh(merge.spec.template.spec.initContainers[0].args[0], {
      ...envOf(merge.spec.template.spec.initContainers[0]),
      RESULTS: results,
    });
    expect(wait.status).toBe(0);
    const m = sh(merge.spec.template.spec.containers[0].args[0], {
      ...envOf(merge.spec.template.spec.containers[0]),
      RESULTS: results,
      KTRACE,
    });
    expect(m.status).toBe(1);
    expect(m.stdout).toMatch(/ of 300 seeds failed .* seeds 1\.\.300, merged from 8 shards/);
    const whole = await runCli(["explore", env.SCENARIO!, "--seeds", "1..300", "--json"]);
    expect(readFileSync(join(results, "explore.json"), "utf8")).toBe(whole.stdout);
  });
});

describe("deploy/github-actions/explore.yml", () => {
  const [wf] = yamlDocs("deploy/github-actions/explore.yml");

  it("runs a matrix of shards, uploads each shard's JSON, and a merge job that needs them downloads and merges them", () => {
    expect(wf.on.workflow_dispatch.inputs).toHaveProperty("seeds");
    const ex = wf.jobs.explore;
    const shards: number[] = ex.strategy.matrix.shard;
    expect(shards).toEqual([...shards.keys()]);
    expect(ex.strategy["fail-fast"]).toBe(false);
    expect(ex.env).toMatchObject({ SHARD: "${{ matrix.shard }}", SHARDS: "${{ strategy.job-total }}" });
    const run = ex.steps.find((s: any) => typeof s.run === "string" && s.run.includes("explore"));
    expect(run.run).toContain('--shard "$SHARD/$SHARDS"');
    const up = ex.steps.find((s: any) => String(s.uses).startsWith("actions/upload-artifact@"));
    expect(up.with).toMatchObject({
      name: "explore-shard-${{ matrix.shard }}",
      path: "shard-${{ matrix.shard }}.json",
    });
    const mg = wf.jobs.merge;
    expect(mg.needs).toBe("explore");
    const down = mg.steps.find((s: any) => String(s.uses).startsWith("actions/download-artifact@"));
    expect(down.with).toMatchObject({ pattern: "explore-shard-*", "merge-multiple": true, path: "shards" });
    expect(
      mg.steps.some((s: any) => typeof s.run === "string" && s.run.includes("merge shards/shard-*.json --json")),
    ).toBe(true);
    // Inputs reach the scripts through env, never pasted into the script text.
    for (const job of [ex, mg])
      for (const s of job.steps) if (typeof s.run === "string") expect(s.run).not.toContain("${{");
  });

  it("its steps, run as the matrix runs them, reproduce the unsharded run", async () => {
    const ex = wf.jobs.explore;
    const shardScript = ex.steps.find((s: any) => typeof s.run === "string" && s.run.includes("explore")).run;
    const work = join(dir, "gha");
    mkdirSync(join(work, "shards"), { recursive: true });
    const total = ex.strategy.matrix.shard.length;
    for (const shard of ex.strategy.matrix.shard) {
      const r = spawnSync("/bin/bash", ["-c", shardScript], {
        cwd: join(work, "shards"),
        encoding: "utf8",
        env: {
          ...process.env,
          NO_COLOR: "1",
          SCENARIO: "asterinas-procfs",
          FIX: "",
          SEEDS: "10..210",
          SHARD: String(shard),
          SHARDS: String(total),
          KTRACE,
        },
      });
      expect(r.status, r.stderr).toBe(0);
    }
    const mergeScript = wf.jobs.merge.steps.find((s: any) => typeof s.run === "string" && s.run.includes("merge")).run;
    const summary = join(work, "summary.md");
    const m = spawnSync("/bin/bash", ["-c", mergeScript], {
      cwd: work,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1", KTRACE, GITHUB_STEP_SUMMARY: summary },
    });
    expect(m.status).toBe(1);
    const whole = await runCli(["explore", "asterinas-procfs", "--seeds", "10..210", "--json"]);
    expect(readFileSync(join(work, "explore.json"), "utf8")).toBe(whole.stdout);
    expect(readFileSync(summary, "utf8")).toMatch(
      /^```text\n[\s\S]* of 201 seeds failed [\s\S]*merged from 8 shards[\s\S]*```\n$/,
    );
  });
});
