// bench/policies: the SOX ITGC library (policies/sox-itgc) against OpenSCAP 1.3 with the SCAP
// Security Guide (Debian's openscap-scanner and ssg-debian), on the same fixture host's files.
// - The shared rules: the SSG rule ids the library's controls name in `refs` ("SSG <rule_id>")
//   that are Rule elements of ssg-debian11-ds.xml (the newest Debian content ssg-debian ships).
//   oscap evaluates a tailoring profile that selects exactly those.
// - The scene: `covenant run --sandbox` on a fixture host (policies/fixtures) builds its sandbox
//   (root/: the host's files; etc/: its accounts). oscap reads a copy of that root/ offline
//   (OSCAP_PROBE_ROOT), which the bench changes in three ways (scene.mjs, makeProbeRoot): it
//   says Debian 11 (etc/debian_version 11.7 and os-release: the content's platform check, else
//   every rule is notapplicable on a Debian 12 host), holds the sandbox's accounts in
//   etc/passwd, shadow and group (the fixture's root/ has root only; Covenant's `account`
//   promises read the sandbox's etc/), and has dpkg's cputable and tupletable (libapt, behind
//   oscap's dpkginfo probe, needs them to read var/lib/dpkg/status).
// - Speed: Covenant's whole run (all 33 controls, every promise) against oscap on the shared
//   rules, whole commands interleaved run by run (timeInterleaved), median of BENCH_RUNS
//   (default 7) after a warm-up; and Covenant with only the controls that ref a shared rule.
//   Not the same work: Covenant evaluates more checks (promises) than oscap rules, and records its
//   run in the sandbox's store; oscap loads a 5.8 MB datastream and writes an XCCDF results file
//   (its fixed cost: the same command with one rule selected, timed too). Both read the same
//   files. oscap runs offline, where some probes do not work (sysctl, systemd units,
//   processes): rules it could not evaluate are counted, not hidden.
// - Agreement: for the compliant Debian 12 host and each fail/ variant that extends it, the
//   controls Covenant finds deficient (a dry run, so that the probe root is the variant's files
//   as made, not as Covenant would repair them) against the shared rules oscap fails; a variant
//   agrees when the rules oscap fails on it and not on the compliant host are all refs of the
//   controls Covenant failed, and at least one is when those controls ref a shared rule. When
//   none is: "oscap cannot evaluate" (the refs are notapplicable, unknown or notselected),
//   "masked" (the refs oscap evaluates fail on the compliant host already), or "oscap passes".
import { spawnSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ensureDebianFile, ensureDebianTool, table, timeInterleaved } from "../lib.mjs";
import * as scene from "./scene.mjs";

const runs = Number(process.env.BENCH_RUNS ?? 7);
const work = resolve("bench/.work/policies");
mkdirSync(work, { recursive: true });
const cli = "bin/covenant";

const hasOscap = ensureDebianTool("oscap", "openscap-scanner") && ensureDebianFile(scene.datastream, "ssg-debian");
if (!hasOscap) {
  console.log("oscap or the SSG Debian 11 datastream is not available: no peer to compare against");
  process.exit(1);
}
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, ${new Date().toISOString()}`);
console.log(`oscap: ${spawnSync("oscap", ["--version"], { encoding: "utf8" }).stdout.split("\n")[0]}`);

const controls = scene.libraryControls();
const dsRules = scene.datastreamRules();
const libraryRules = new Set([...controls.values()].flatMap((c) => c.rules));
const shared = [...libraryRules].filter((r) => dsRules.has(r)).sort();
const sharedSet = new Set(shared);
const sharedOf = (id) => controls.get(id).rules.filter((r) => sharedSet.has(r));
const withShared = new Set([...controls.keys()].filter((id) => sharedOf(id).length > 0));
console.log(`library: ${controls.size} controls naming ${libraryRules.size} SSG rule ids; ssg-debian11 has ${dsRules.size} rules; shared: ${shared.length} rules, refd by ${withShared.size} controls`);
const tailoring = join(work, "tailoring.xml");
scene.writeTailoring(tailoring, shared);

function run(argv, env) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", maxBuffer: 1 << 28, env: env ? { ...process.env, ...env } : process.env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Covenant on a fresh sandbox of `manifest` (a dry run): its JSON report. */
function covenantOn(manifest, sandbox, extra = []) {
  rmSync(sandbox, { recursive: true, force: true });
  const r = run([cli, "run", ...extra, "--sandbox-dir", sandbox, "--sandbox-manifest", manifest, "--json", scene.library]);
  if (r.status !== 0 && r.status !== 1) throw new Error(`covenant run on ${manifest} exited ${r.status}: ${r.stderr.slice(0, 2000)}`);
  return JSON.parse(r.stdout);
}

/** oscap on the probe root made from `sandbox`: rule → result. */
function oscapOn(sandbox, name) {
  const probeRoot = join(work, "probe", name);
  mkdirSync(join(work, "probe", "fail"), { recursive: true });
  scene.makeProbeRoot(sandbox, probeRoot);
  const results = join(work, `results-${name.replace("/", "-")}.xml`);
  rmSync(results, { force: true });
  const r = run(scene.oscapArgv(probeRoot, tailoring, results));
  // oscap exits 2 when a rule fails, 1 on an error of its own
  if (r.status !== 0 && r.status !== 2) throw new Error(`oscap on ${probeRoot} exited ${r.status}: ${r.stderr.slice(0, 2000)}`);
  const all = scene.readResults(results);
  // a selected rule can still be `notselected`: XCCDF's <requires> (sshd_set_idle_timeout
  // requires sshd_set_keepalive_0, which the library does not ref) unselects it
  const res = new Map(shared.filter((x) => all.has(x)).map((x) => [x, all.get(x)]));
  const missing = shared.filter((x) => !res.has(x));
  return { res, probeRoot, results, missing, stderr: [...new Set(r.stderr.split("\n").filter(Boolean))] };
}

const count = (res) => {
  const c = {};
  for (const v of res.values()) c[v] = (c[v] ?? 0) + 1;
  return c;
};

// ---- agreement
const hosts = scene.debianFixtures();
const agreement = [];
let baseline;
for (const host of hosts) {
  const sandbox = join(work, "sandbox", host.name);
  mkdirSync(join(work, "sandbox", "fail"), { recursive: true });
  const report = covenantOn(host.manifest, sandbox, ["--dry-run"]);
  const deficient = report.summary.deficient_controls.map((d) => (typeof d === "string" ? d : d.id)).sort();
  const o = oscapOn(sandbox, host.name);
  const failed = shared.filter((r) => o.res.get(r) === "fail");
  if (!baseline) baseline = { failed: new Set(failed), res: o.res, stderr: o.stderr, missing: o.missing };
  const newFails = failed.filter((r) => !baseline.failed.has(r));
  const cleared = [...baseline.failed].filter((r) => o.res.get(r) !== "fail");
  const refd = new Set(deficient.flatMap(sharedOf));
  const outside = newFails.filter((r) => !refd.has(r));
  const inside = newFails.filter((r) => refd.has(r));
  const evaluatedRefs = [...refd].filter((r) => ["pass", "fail"].includes(o.res.get(r)));
  let verdict;
  if (host.name === "debian-12") verdict = deficient.length === 0 && failed.length === 0 ? "agree" : "baseline";
  else if (deficient.length === 0) verdict = "covenant: none on a fresh sandbox";
  else if (refd.size === 0) verdict = outside.length ? "oscap-extra (no shared rule)" : "no shared rule";
  else if (outside.length) verdict = inside.length ? "partly (oscap-extra)" : "disagree";
  else if (inside.length) verdict = "agree";
  else if (evaluatedRefs.length === 0) verdict = "oscap cannot evaluate";
  else if (evaluatedRefs.every((r) => baseline.failed.has(r))) verdict = "masked (fails on the compliant host)";
  else verdict = "oscap passes";
  const refdResults = [...refd].map((r) => `${r}=${o.res.get(r) ?? "absent"}`);
  agreement.push({ host: host.name, deficient, failed, newFails, cleared, refdResults, verdict, counts: count(o.res) });
}

console.log(`\noscap on the compliant host (${baseline.res.size} of ${shared.length} shared rules have a result${baseline.missing.length ? `; none for ${baseline.missing.join(", ")}` : ""}):`);
const byResult = {};
for (const r of shared) (byResult[baseline.res.get(r) ?? "absent"] ??= []).push(r);
for (const [k, v] of Object.entries(byResult).sort()) console.log(`  ${k} (${v.length}): ${v.join(" ")}`);
if (baseline.stderr.length) console.log(`  oscap's messages:\n    ${baseline.stderr.join("\n    ")}`);

console.log("\nagreement per host (oscap: the shared rules it fails and does not fail on the compliant host):");
console.log(
  table([
    ["host", "Covenant: deficient controls", "oscap: new failed rules", "their shared refs (oscap's result)", "verdict"],
    ...agreement.map((a) => [a.host, a.deficient.join(" ") || "-", (a.host === "debian-12" ? `${a.failed.length} (above)` : a.newFails.join(" ")) || "-", a.refdResults.join(" ") || "-", a.verdict]),
  ]),
);
for (const a of agreement.filter((x) => x.cleared.length)) console.log(`(${a.host}: fails no longer on it: ${a.cleared.join(" ")})`);
const tally = {};
for (const a of agreement.slice(1)) tally[a.verdict] = (tally[a.verdict] ?? 0) + 1;
console.log(`variants: ${agreement.length - 1}; ${Object.entries(tally).map(([k, v]) => `${k}: ${v}`).join(", ")}`);

// ---- speed, on the compliant host
const base = hosts[0];
const sandbox = join(work, "sandbox", "timed");
const full = covenantOn(base.manifest, sandbox); // builds the sandbox, untimed
const subsetDir = join(work, "subset");
scene.writeSubsetLibrary(subsetDir, withShared);
const oTimed = oscapOn(sandbox, "timed");
const timedResults = join(work, "results-timed.xml");
// oscap's fixed cost: the same command with one rule selected (loading the datastream and the rest)
const oneRule = join(work, "tailoring-one-rule.xml");
scene.writeTailoring(oneRule, shared.slice(0, 1));
const argvs = [
  [cli, "run", "--sandbox", "--sandbox-dir", sandbox, "--sandbox-manifest", base.manifest, "--json", scene.library],
  [cli, "run", "--sandbox", "--sandbox-dir", sandbox, "--sandbox-manifest", base.manifest, "--json", subsetDir],
  scene.oscapArgv(oTimed.probeRoot, tailoring, timedResults),
  scene.oscapArgv(oTimed.probeRoot, oneRule, join(work, "results-one-rule.xml")),
];
const subsetReport = JSON.parse(run(argvs[1]).stdout);
if (subsetReport.summary.controls !== withShared.size) throw new Error(`the subset library has ${subsetReport.summary.controls} controls, not ${withShared.size}`);
const t = timeInterleaved(argvs, runs);
if (t[0].status !== 0 || t[1].status !== 0) throw new Error(`covenant run exited ${t[0].status}/${t[1].status} on the compliant host`);
const evaluated = (rep) => rep.summary.promises - (rep.summary.outcomes.skipped ?? 0);
const oc = count(oTimed.res);
const oscapEvaluated = (oc.pass ?? 0) + (oc.fail ?? 0);
const rate = (n, ms) => (n / (ms / 1000)).toFixed(0);
const range = (w) => `${Math.min(...w).toFixed(0)}–${Math.max(...w).toFixed(0)}`;
console.log(`\nspeed on the compliant host, median of ${runs} interleaved runs after a warm-up:`);
const rows = [
  ["command", "checks", "evaluated", "median", "(range)", "evaluated/s", "peak RSS"],
  ["covenant run, 33 controls", `${full.summary.promises} promises`, evaluated(full), `${t[0].ms.toFixed(0)} ms`, range(t[0].walls), rate(evaluated(full), t[0].ms), `${(t[0].rssKB / 1024).toFixed(0)} MB`],
  [`covenant run, ${withShared.size} controls with a shared rule`, `${subsetReport.summary.promises} promises`, evaluated(subsetReport), `${t[1].ms.toFixed(0)} ms`, range(t[1].walls), rate(evaluated(subsetReport), t[1].ms), `${(t[1].rssKB / 1024).toFixed(0)} MB`],
  ["oscap xccdf eval (offline)", `${oTimed.res.size} rules`, `${oscapEvaluated} pass/fail`, `${t[2].ms.toFixed(0)} ms`, range(t[2].walls), rate(oscapEvaluated, t[2].ms), `${(t[2].rssKB / 1024).toFixed(0)} MB`],
];
rows.push([`oscap xccdf eval, 1 rule (${shared[0]})`, "1 rule", "-", `${t[3].ms.toFixed(0)} ms`, range(t[3].walls), "-", `${(t[3].rssKB / 1024).toFixed(0)} MB`]);
console.log(table(rows));
console.log(`oscap's results: ${Object.entries(oc).map(([k, v]) => `${k} ${v}`).join(", ")} (not evaluated: ${oTimed.res.size - oscapEvaluated})`);
console.log(`oscap/covenant wall: ${(t[2].ms / t[0].ms).toFixed(2)}x (whole library), ${(t[2].ms / t[1].ms).toFixed(2)}x (controls with a shared rule)`);
console.log(`evaluated per second, covenant/oscap: ${(evaluated(full) / t[0].ms / (oscapEvaluated / t[2].ms)).toFixed(2)}x (whole library), ${(evaluated(subsetReport) / t[1].ms / (oscapEvaluated / t[2].ms)).toFixed(2)}x (subset)`);

writeFileSync(
  join(work, "results.json"),
  JSON.stringify({ shared, withShared: [...withShared], baseline: Object.fromEntries(baseline.res), agreement, timing: t.map((x) => ({ ms: x.ms, walls: x.walls, rssKB: x.rssKB })), argvs }, null, 2),
);
console.log(`\nresults: ${join(work, "results.json")}`);
