// Entry of the CLI's V8 startup snapshot (built by scripts/build.mjs, started by bin/covenant
// for `check` and `fmt`). On a small policy, loading and compiling the bundle and Chevrotain's
// analysis of the grammar are two thirds of the run; the snapshot holds them already done.
//
// Only what `check` and `fmt` need runs before the snapshot is taken, and nothing of the
// machine it is built on may be captured: every environment variable, terminal and clock is
// read when a command runs, never when a module loads.
import { startupSnapshot } from "node:v8";
import { checkFiles } from "../checker/check.js";
import { format } from "../formatter/format.js";
import { parseSource } from "../parser/parse.js";
import { main } from "./main.js";

// Build the parser (its grammar analysis) and touch the checker and formatter once.
const warmUp = 'stakeholder team { description = "d" }\ncontrol "W-1" {\n  title = "t"\n  owner = team\n  file "/w" { mode = 0640 }\n}\n';
checkFiles([parseSource("warm-up.promise", warmUp)]);
format(parseSource("warm-up.promise", warmUp));

startupSnapshot.setDeserializeMainFunction(() => {
  // node --snapshot-blob FILE -- ARGS: process.argv is [node, ...ARGS]
  void main(process.argv.slice(1)).then((code) => {
    process.exitCode = code;
  });
});
