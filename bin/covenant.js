#!/usr/bin/env node
// Runs the bundled CLI (built by `npm install` / `npm run build` into dist/).
// No V8 flags here: they would apply to every command. `covenant run` sets the ones it wants
// for its memory when it starts (src/cli/main.ts).
import { main, streamsInUse } from "../dist/covenant.js";

// exit as soon as the command is done: a read stuck in the kernel (a hung network file system)
// must not keep a finished run alive. Output to a pipe is written asynchronously (Node queues
// what the pipe cannot take at once), so exit once stdout and stderr have taken everything:
// exiting at once cut `covenant history --json | jq` off after 128 KiB. Only a stream the command
// wrote to is waited for: asking Node for one it did not makes it (on a pipe, with node:net), a
// few milliseconds of a `run --quiet` that says nothing (bench/run).
const code = await main(process.argv.slice(2));
const streams = streamsInUse();
let open = streams.length;
if (open === 0) process.exit(code);
const flushed = () => {
  if (--open === 0) process.exit(code);
};
for (const stream of streams) stream.write("", flushed);
