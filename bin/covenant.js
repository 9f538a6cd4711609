#!/usr/bin/env -S node --max-semi-space-size=1
// Runs the bundled CLI (built by `npm install` / `npm run build` into dist/).
// --max-semi-space-size=1: a young generation of 1 MiB instead of 16. `covenant run` is started
// every few minutes on every host, so its peak memory matters more than the last few percent of
// parse speed: the parse's short-lived garbage otherwise grows the heap by ~20 MB (bench/run).
// The flag takes effect only at start-up, hence here; `run` also turns off the optimising
// compiler when it starts (src/cli/main.ts).
import { main } from "../dist/covenant.js";

process.exitCode = await main(process.argv.slice(2));
