// bench/input: what any input costs `covenant check` and `fmt`. Peak memory per input byte on
// 10 MB policies of several shapes (above the peak of a near-empty policy), `fmt` time on
// 100,000 aligned lines, and `check` time against `cf-promises -f` on a large equivalent policy.
// Goals (issue 13): at most 30 bytes of peak RSS per input byte above the base for both
// commands, 100,000 aligned lines formatted in under 2 s.
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { ensureDebianTool, table, timeCommand, timeInterleaved } from "../lib.mjs";
import { writePolicies } from "../parse/generate.mjs";

const work = resolve("bench/.work/input");
mkdirSync(work, { recursive: true });
const MB = Number(process.env.BENCH_INPUT_MB ?? 10);
const runs = Number(process.env.BENCH_RUNS ?? 3);
const bytesWanted = MB * 1e6;

/** Repeats `piece(n)` for n = 0, 1, ... until the text reaches the wanted size. */
function fill(piece) {
  const parts = [];
  let length = 0;
  for (let n = 0; length < bytesWanted; n++) {
    const p = piece(n);
    parts.push(p);
    length += p.length;
  }
  return parts.join("");
}

const control = 'stakeholder ops\ncontrol "BASE-1" {\n  title = "t"\n  owner = ops\n  file "/etc/passwd" { mode = 0644 }\n}\n';
// Each shape is a valid policy, so that `check` does all its work and `fmt` prints it all.
const shapes = {
  "one list": () => `${control}let big = [\n${fill((n) => `  "host-${n}.example.com",\n`)}]\n`,
  "promises in one control": () => `stakeholder ops\ncontrol "BIG-1" {\n  title = "t"\n  owner = ops\n${fill((n) => `  file "/srv/f${n}" { mode = 0640 }\n`)}}\n`,
  "small controls": () => `stakeholder ops\n${fill((n) => `control "C-${n}" { title = "t" owner = ops file "/srv/f${n}" { mode = 0640 } }\n`)}`,
  "one long string": () => `${control}let text = """\n${fill((n) => `line ${n} of a long text block\n`)}"""\n`,
  "comments": () => `${control}${fill((n) => `# comment ${n}: why the next control is there\n`)}`,
  "aligned lets": () => `${control}${fill((n) => `let v${n}${n % 7 === 0 ? "_longer" : ""} = "value ${n}"\n`)}`,
};

const base = resolve(work, "base.promise");
writeFileSync(base, control);
// `fmt --check` reads and formats without writing; it exits 1 when the file would change
const fmtOk = (r) => r.status === 0 || r.status === 1;
const peakKB = (argv, ok) => {
  const r = timeCommand(argv, runs);
  if (!ok(r)) throw new Error(`${argv.join(" ")} failed:\n${r.output.slice(0, 2000)}`);
  return r;
};
const checkOk = (r) => r.status === 0;
const baseCheck = peakKB(["bin/covenant", "check", base], checkOk).rssKB;
const baseFmt = peakKB(["bin/covenant", "fmt", "--check", base], fmtOk).rssKB;

const rows = [["shape", "MB", "check peak", "check B/byte", "check time", "fmt peak", "fmt B/byte", "fmt time"]];
const results = [];
for (const [shape, make] of Object.entries(shapes)) {
  const path = resolve(work, `${shape.replace(/ /g, "-")}.promise`);
  writeFileSync(path, make());
  const bytes = statSync(path).size;
  const check = peakKB(["bin/covenant", "check", path], (r) => r.status === 0 || r.status === 2);
  // the shapes are valid: a warning (unused variable) is fine, an error is not
  if (/error E\d+/.test(check.output)) throw new Error(`check found errors in ${shape}:\n${check.output.slice(0, 2000)}`);
  const fmt = peakKB(["bin/covenant", "fmt", "--check", path], fmtOk);
  const perByte = (kb, baseKB) => ((kb - baseKB) * 1024) / bytes;
  const result = { shape, bytes, checkRssKB: check.rssKB, checkBytesPerByte: perByte(check.rssKB, baseCheck), checkMs: check.ms, fmtRssKB: fmt.rssKB, fmtBytesPerByte: perByte(fmt.rssKB, baseFmt), fmtMs: fmt.ms };
  results.push(result);
  rows.push([
    shape,
    (bytes / 1e6).toFixed(1),
    `${(check.rssKB / 1024).toFixed(0)} MB`,
    result.checkBytesPerByte.toFixed(1),
    `${(check.ms / 1000).toFixed(2)} s`,
    `${(fmt.rssKB / 1024).toFixed(0)} MB`,
    result.fmtBytesPerByte.toFixed(1),
    `${(fmt.ms / 1000).toFixed(2)} s`,
  ]);
}
console.log(`\nbench/input: peak RSS above a near-empty policy's (check ${(baseCheck / 1024).toFixed(0)} MB, fmt ${(baseFmt / 1024).toFixed(0)} MB), per input byte; median time of ${runs} runs\n`);
console.log(table(rows));
const worst = Math.max(...results.flatMap((r) => [r.checkBytesPerByte, r.fmtBytesPerByte]));
console.log(`\ngoal: at most 30 bytes per input byte above the base (worst: ${worst.toFixed(1)})`);

// fmt on 100,000 aligned lines: one alignment run, the case that was quadratic
const aligned = resolve(work, "aligned-100k.promise");
writeFileSync(aligned, Array.from({ length: 100_000 }, (_, n) => `let v${String(n).padStart(6, "0")}${n % 7 === 0 ? "_longer" : ""} = "value ${n}"\n`).join(""));
const fmtAligned = timeCommand(["bin/covenant", "fmt", "--check", aligned], runs);
if (!fmtOk(fmtAligned)) throw new Error(`fmt failed on ${aligned}:\n${fmtAligned.output.slice(0, 2000)}`);
console.log(`\nfmt on 100,000 aligned lets (one run): ${(fmtAligned.ms / 1000).toFixed(2)} s, ${(fmtAligned.rssKB / 1024).toFixed(0)} MB (goal: under 2 s)`);

// check against cf-promises on the same large policy as bench/parse, five times its largest
const promises = Number(process.env.BENCH_INPUT_PROMISES ?? 100_000);
const hasCf = ensureDebianTool("cf-promises", "cfengine3");
const { cov, cf } = writePolicies(work, promises);
const covArgv = ["bin/covenant", "check", cov];
const [c, p] = hasCf ? timeInterleaved([covArgv, ["cf-promises", "-f", resolve(cf)]], runs) : [timeCommand(covArgv, runs), undefined];
if (c.status !== 0) throw new Error(`covenant check failed on ${cov}:\n${c.output.slice(0, 2000)}`);
if (p && p.status !== 0) throw new Error(`cf-promises failed on ${cf}:\n${p.output.slice(0, 2000)}`);
const covBytes = statSync(cov).size;
console.log(
  `\ncheck on ${promises.toLocaleString("en")} file promises (${(covBytes / 1e6).toFixed(1)} MB): covenant ${(c.ms / 1000).toFixed(2)} s, ${(c.rssKB / 1024).toFixed(0)} MB` +
    (p ? `; cf-promises ${(p.ms / 1000).toFixed(2)} s, ${(p.rssKB / 1024).toFixed(0)} MB; ratio (cov/cf) ${(c.ms / p.ms).toFixed(2)}x time, ${(c.rssKB / p.rssKB).toFixed(2)}x memory` : "; cf-promises not installed"),
);

writeFileSync(
  resolve(work, "results.json"),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      baseCheckRssKB: baseCheck,
      baseFmtRssKB: baseFmt,
      shapes: results,
      fmtAligned100k: { ms: fmtAligned.ms, rssKB: fmtAligned.rssKB },
      versusCfPromises: { promises, bytes: covBytes, covenantMs: c.ms, covenantRssKB: c.rssKB, cfPromisesMs: p?.ms ?? null, cfPromisesRssKB: p?.rssKB ?? null },
    },
    null,
    2,
  ),
);
