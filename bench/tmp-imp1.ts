import { importTrace } from "../src/import/write.ts";
import { readdirSync } from "node:fs";
const root = "/work/wt/imp15b/fixtures/import";
for (const d of readdirSync(root)) {
  if (d.endsWith(".md")) continue;
  for (const f of readdirSync(`${root}/${d}`)) {
    if (f.endsWith(".bin")) continue;
    try {
      const r = await importTrace(`${root}/${d}/${f}`, `/tmp/imp-${d}-${f}.ktrace`, { writer: "ktrace test" });
      console.log(d, f, r.written.events, "events", r.cpus, "cpus", r.passes, "passes", JSON.stringify(r.convert.kept));
    } catch (e) { console.log(d, f, "ERROR", (e as Error).message); }
  }
}
