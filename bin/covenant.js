#!/usr/bin/env node
// Runs the bundled CLI (built by `npm install` / `npm run build` into dist/).
// No V8 flags here: they would apply to every command. `covenant run` sets the ones it wants
// for its memory when it starts (src/cli/main.ts).
import { main } from "../dist/covenant.js";

// exit as soon as the command is done: a read stuck in the kernel (a hung network file system)
// must not keep a finished run alive. Output to a pipe is written asynchronously (Node queues
// what the pipe cannot take at once), so exit once stdout and stderr have taken everything:
// exiting at once cut `covenant history --json | jq` off after 128 KiB.
const code = await main(process.argv.slice(2));
let open = 2;
const flushed = () => {
  if (--open === 0) process.exit(code);
};
process.stdout.write("", flushed);
process.stderr.write("", flushed);
