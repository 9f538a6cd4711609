// One fresh process of bench/parse/warmup.mjs: parses a policy split into equal parts (whole
// controls each), one part after another, then checks them together; then does the same work
// again, warm, several times. Prints one JSON line: per-part parse times and check time, cold
// and warm (medians of the warm rounds).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

const [policy, partsArg, roundsArg] = process.argv.slice(2);
const { parseSource, checkFiles } = await import(resolve("dist/index.js"));
const text = readFileSync(policy, "utf8");
const partCount = Number(partsArg);

// What the start-up snapshot does before it is captured (src/cli/snapshot.ts): the functions
// then have their bytecode, as they do in `covenant check`, and only the JIT is cold.
checkFiles([parseSource("warm-up.promise", 'stakeholder team { description = "d" }\ncontrol "W-1" {\n  title = "t"\n  owner = team\n  file "/w" { mode = 0640 }\n}\n')]);

// Parts begin at a control; the first also carries what precedes the first control (the
// stakeholder the others refer to). Each is copied into a flat string, as a file read from disk is: a sliced or
// concatenated string has another map and would make the parser's code deoptimise.
const starts = [];
for (let at = text.indexOf("\ncontrol "); at !== -1; at = text.indexOf("\ncontrol ", at + 1)) starts.push(at + 1);
const perPart = Math.ceil(starts.length / partCount);
const head = text.slice(0, starts[0]);
const parts = [];
for (let p = 0; p * perPart < starts.length; p++) {
  const body = text.slice(starts[p * perPart], starts[(p + 1) * perPart] ?? text.length);
  parts.push(Buffer.from(p === 0 ? head + body : body).toString());
}

function round() {
  const parse = [];
  const files = [];
  parts.forEach((part, i) => {
    const t = performance.now();
    files.push(parseSource(`part-${i}.promise`, part));
    parse.push(performance.now() - t);
  });
  const t = performance.now();
  const result = checkFiles(files);
  const check = performance.now() - t;
  if (result.diagnostics.some((d) => d.severity === "error")) throw new Error("unexpected errors in the generated policy");
  return { parse, check };
}

const cold = round();
const warmRounds = Array.from({ length: Number(roundsArg) }, round);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const warm = {
  parse: parts.map((_, i) => median(warmRounds.map((r) => r.parse[i]))),
  check: median(warmRounds.map((r) => r.check)),
};
console.log(JSON.stringify({ cold, warm }));
