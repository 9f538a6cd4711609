#!/usr/bin/env node
// Runs the bundled CLI (built by `npm install` / `npm run build` into dist/).
// No V8 flags here: they would apply to every command. `covenant run` sets the ones it wants
// for its memory when it starts (src/cli/main.ts).
import { main } from "../dist/covenant.js";

// exit as soon as the command is done: a read stuck in the kernel (a hung network file system)
// must not keep a finished run alive, and stdout and stderr are written synchronously on Linux
process.exit(await main(process.argv.slice(2)));
