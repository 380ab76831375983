// One temporary directory per test run: every test (and every CLI it spawns) gets it as
// TMPDIR, so os.tmpdir()-based scratch files land in it, and teardown removes it whole.
// Tests still clean up after themselves where they can; this makes sure nothing is left
// behind when one fails or forgets.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "ktrace-test-run-"));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(dir, { recursive: true, force: true });
  };
}
