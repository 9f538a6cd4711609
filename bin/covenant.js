#!/usr/bin/env node
// Runs the bundled CLI (built by `npm install` / `npm run build` into dist/).
// No V8 flags here: they would apply to every command. `covenant run` sets the ones it wants
// for its memory when it starts (src/cli/main.ts).
import { main } from "../dist/covenant.js";

process.exitCode = await main(process.argv.slice(2));
