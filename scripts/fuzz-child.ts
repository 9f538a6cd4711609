// The process `npm run fuzz` sends inputs to: examines each in-process (test/fuzz/oracle.ts) and
// answers with what broke, how long it took and the process's peak memory so far. A separate
// process so that a hang can be killed and the peak memory of one input measured from a fresh start.
import { examine, examineCheck, formatting } from "../test/fuzz/oracle.ts";
import { corpus } from "../test/fuzz/corpus.ts";

export interface FuzzRequest {
  id: number;
  text: string;
  /** both commands' steps (the default), or one command's alone (for measuring its memory) */
  mode?: "both" | "check" | "fmt";
}

const steps = { both: examine, check: examineCheck, fmt: formatting };

export interface FuzzAnswer {
  id: number;
  findings: ReturnType<typeof examine>;
  ms: number;
  /** peak resident set size of this process so far, in bytes */
  maxRss: number;
}

const send = (m: unknown) => process.send!(m);
const maxRss = () => process.resourceUsage().maxRSS * 1024;

// Warm up on a real policy first: the grammar's analysis and the modules are the runtime's base,
// not the cost of an input.
for (const text of corpus.slice(0, 4)) examine(text);
send({ ready: true, maxRss: maxRss() });

process.on("message", (m: FuzzRequest) => {
  const started = performance.now();
  const findings = steps[m.mode ?? "both"](m.text);
  const answer: FuzzAnswer = { id: m.id, findings, ms: performance.now() - started, maxRss: maxRss() };
  send(answer);
});
process.on("disconnect", () => process.exit(0));
