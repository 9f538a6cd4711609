#!/usr/bin/env node
// Runs the bundled CLI (built by `npm install` / `npm run build` into dist/).
// No V8 flags here: they would apply to every command. `covenant run` sets the ones it wants
// for its memory when it starts (src/cli/run-command.ts).
import { exitOnceWritten, main } from "../dist/covenant.js";

// exits as soon as the command is done, once stdout and stderr have taken what it wrote (io.ts)
exitOnceWritten(await main(process.argv.slice(2)));
