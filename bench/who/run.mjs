// bench/who: the cost of one holders scan (bench/who/scan.ts, run through tsx).
import { spawnSync } from "node:child_process";
const r = spawnSync("npx", ["tsx", "bench/who/scan.ts"], { stdio: "inherit" });
process.exitCode = r.status ?? 1;
