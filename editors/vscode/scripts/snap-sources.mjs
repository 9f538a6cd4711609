// The snapshot tests' sources: every policy of the examples and the policy library, copied to
// test/snap/ as they are now (the copies are not kept in git; the .snap files beside them are).
// An example that changes then fails `npm run test:snap` until its snapshot is made again with
// `npm run snap:update` and the change of highlighting is reviewed in the diff.
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";

const root = new URL("../../../", import.meta.url).pathname;
const snap = new URL("../test/snap/", import.meta.url).pathname;
for (const f of readdirSync(snap, { recursive: true, encoding: "utf8" })) if (f.endsWith(".promise")) rmSync(join(snap, f));
for (const dir of ["examples", "policies"]) {
  for (const f of readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })) {
    if (!f.endsWith(".promise")) continue;
    mkdirSync(dirname(join(snap, dir, f)), { recursive: true });
    copyFileSync(join(root, dir, f), join(snap, dir, f));
  }
}
