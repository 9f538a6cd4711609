// describeChange against AIDE itself: the same random changes to a real tree, observed by
// readFileState before and after, and by `aide --init` / `aide --check` (0.18, JSON report), must
// give the same attributes changed, entry by entry, up to the documented differences (size and
// sha256 are one `content`; AIDE's Perm holds the type bits too).
import { spawnSync } from "node:child_process";
import { appendFileSync, chmodSync, lchownSync, linkSync, lutimesSync, mkdirSync, mkdtempSync, renameSync, rmdirSync, symlinkSync, unlinkSync, writeFileSync, lstatSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { describeChange, type ChangeKind } from "../../src/integrity/file-change.ts";
import { readFileState, type FileState } from "../../src/integrity/file-state.ts";
import { covenant, ensureBuilt } from "../helpers/cli.ts";
import { ensureDebianTool } from "../helpers/debian-package.ts";

const AIDE = "/usr/bin/aide";

/** undefined when aide is there (installed now from Debian if it was missing: tests run as root), else why not. */
function ensureAide(): string | undefined {
  const missing = ensureDebianTool(AIDE, "aide");
  if (missing) return missing;
  const r = spawnSync(AIDE, ["--version"], { encoding: "utf8" });
  return r.status === 0 ? undefined : `${AIDE} cannot be run: ${(r.stderr || r.error?.message || "").trim()}`;
}
const missing = ensureAide();
ensureBuilt();

type Initial = "file" | "directory" | "symlink" | "none";
const ops = ["rewrite-same-size", "append", "chmod", "chown", "chgrp", "replace", "delete", "hardlink", "touch", "to-symlink", "to-file", "to-directory", "retarget", "create"] as const;
type Op = (typeof ops)[number];

const OLD = new Date("2001-01-01T00:00:00Z");
const TOUCHED = new Date("2002-02-02T00:00:00Z");

function kindAt(p: string): Initial {
  const st = lstatSync(p, { throwIfNoEntry: false });
  return !st ? "none" : st.isSymbolicLink() ? "symlink" : st.isDirectory() ? "directory" : "file";
}

function remove(p: string): void {
  const k = kindAt(p);
  if (k === "directory") rmdirSync(p);
  else if (k !== "none") unlinkSync(p);
}

function make(p: string, kind: Initial, n: number): void {
  if (kind === "file") writeFileSync(p, `content ${n}\n`);
  if (kind === "directory") mkdirSync(p);
  if (kind === "symlink") symlinkSync(`target-${n}`, p);
}

function replaceBy(p: string, kind: Initial, n: number): void {
  remove(p);
  make(p, kind, n);
}

/** One change, made only where it applies to what is at `p` now. */
function apply(p: string, op: Op, n: number): void {
  const k = kindAt(p);
  if (op === "rewrite-same-size" && k === "file") writeFileSync(p, `CONTENT ${n}\n`);
  if (op === "append" && k === "file") appendFileSync(p, "more\n");
  if (op === "chmod" && (k === "file" || k === "directory")) chmodSync(p, 0o600);
  if (op === "chown" && k !== "none") lchownSync(p, 1234, -1);
  if (op === "chgrp" && k !== "none") lchownSync(p, -1, 1234);
  if (op === "replace" && k === "file") {
    writeFileSync(`${p}.new`, `content ${n}\n`);
    renameSync(`${p}.new`, p);
  }
  if (op === "delete") remove(p);
  if (op === "hardlink" && k === "file" && kindAt(`${p}.hard`) === "none") linkSync(p, `${p}.hard`);
  if (op === "touch" && k !== "none") lutimesSync(p, TOUCHED, TOUCHED);
  if (op === "to-symlink" && k !== "symlink") replaceBy(p, "symlink", n);
  if (op === "to-file" && k !== "file") replaceBy(p, "file", n);
  if (op === "to-directory" && k !== "directory") replaceBy(p, "directory", n);
  if (op === "retarget" && k === "symlink") {
    symlinkSync(`elsewhere-${n}`, `${p}.new`);
    renameSync(`${p}.new`, p);
  }
  if (op === "create" && k === "none") make(p, "file", n);
}

/** AIDE's attribute names for what describeChange reports. */
const aideNames: Record<Exclude<ChangeKind, "created" | "deleted" | "status">, string[]> = {
  type: ["file_type", "perm"],
  "link-target": ["link_name"],
  content: ["content"],
  mode: ["perm"],
  owner: ["uid"],
  group: ["gid"],
  mtime: ["modify_time"],
  inode: ["inode"],
  "link-count": ["link_count"],
};

interface AideReport {
  added?: Record<string, string>;
  removed?: Record<string, string>;
  details?: Record<string, Record<string, unknown>>;
}

function aide(conf: string, mode: "--init" | "--check"): AideReport {
  const r = spawnSync(AIDE, ["-c", conf, mode], { encoding: "utf8" });
  // --check exits with a bit mask of what it found (1 added, 2 removed, 4 changed); 14+ are errors
  if (r.status === null || r.status >= 14) throw new Error(`aide ${mode}: ${r.status} ${r.stderr}`);
  return mode === "--check" && r.stdout.trim().startsWith("{") ? (JSON.parse(r.stdout) as AideReport) : {};
}

function everything(tree: string): string[] {
  return [tree, ...readdirSync(tree).map((n) => join(tree, n))];
}

async function states(paths: string[]): Promise<Map<string, FileState>> {
  return new Map(await Promise.all(paths.map(async (p) => [p, await readFileState(p)] as const)));
}

async function compareWithAide(plan: { initial: Initial; ops: Op[] }[]): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "covenant-aide-"));
  const tree = join(work, "t");
  mkdirSync(tree);
  plan.forEach((e, i) => make(join(tree, `e${i}`), e.initial, i));
  // whole seconds, long past: AIDE keeps mtime in seconds, and every change made now is later
  for (const p of everything(tree).reverse()) lutimesSync(p, OLD, OLD);
  const conf = join(work, "aide.conf");
  writeFileSync(conf, [`database_in=file:${work}/db`, `database_out=file:${work}/db.new`, "report_level=added_removed_entries", "report_format=json", "report_base16=true", "W = p+i+n+u+g+s+m+l+ftype+sha256", `${tree} W`, ""].join("\n"));
  const before = await states(everything(tree));
  aide(conf, "--init");
  renameSync(join(work, "db.new"), join(work, "db"));
  plan.forEach((e, i) => e.ops.forEach((op) => apply(join(tree, `e${i}`), op, i)));
  const after = await states(everything(tree));
  const report = aide(conf, "--check");
  for (const path of new Set([...before.keys(), ...after.keys()])) {
    const ours = describeChange(before.get(path), after.get(path));
    const theirs: string[] = [];
    if (report.added?.[path] !== undefined) theirs.push("created");
    else if (report.removed?.[path] !== undefined) theirs.push("deleted");
    else for (const name of Object.keys(report.details?.[path] ?? {})) theirs.push(name === "size" || name === "sha256" ? "content" : name);
    const mine = ours.flatMap((d) => (d.kind === "created" || d.kind === "deleted" || d.kind === "status" ? [d.kind] : aideNames[d.kind]));
    expect([...new Set(mine)].sort(), `${path} after ${JSON.stringify(plan)}`).toEqual([...new Set(theirs)].sort());
  }
}

describe("describeChange agrees with AIDE", () => {
  // a comparison that cannot run is a failure, never a skip: CI installs aide as the test does
  it("has aide to compare with", () => {
    expect(missing).toBeUndefined();
  });

  it("on every single change to a file, a directory and a link", async () => {
    const plan = (["file", "directory", "symlink", "none"] as const).flatMap((initial) => ops.map((op) => ({ initial, ops: [op] })));
    await compareWithAide(plan);
  });

  it("on random sequences of changes to random trees", async () => {
    const entry = fc.record({ initial: fc.constantFrom<Initial>("file", "directory", "symlink", "none"), ops: fc.array(fc.constantFrom(...ops), { maxLength: 3 }) });
    await fc.assert(fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 12 }), compareWithAide), { numRuns: 15 });
  });
});


/**
 * The same comparison end to end: a tree (with a subdirectory) under a recursive realtime
 * `directory` promise, approved by `covenant integrity init`, changed, then evaluated by
 * `covenant run`: every entry AIDE reports as added, removed or changed is one Covenant reports,
 * with the same attributes, and Covenant reports no other.
 */
async function compareRunWithAide(plan: { initial: Initial; ops: Op[]; sub: boolean }[]): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "covenant-aide-run-"));
  const tree = join(work, "t");
  mkdirSync(join(tree, "sub"), { recursive: true });
  const at = (e: { sub: boolean }, i: number) => join(tree, ...(e.sub ? ["sub"] : []), `e${i}`);
  plan.forEach((e, i) => make(at(e, i), e.initial, i));
  for (const p of [...everything(join(tree, "sub")), ...everything(tree)].reverse()) lutimesSync(p, OLD, OLD);
  const conf = join(work, "aide.conf");
  writeFileSync(conf, [`database_in=file:${work}/db`, `database_out=file:${work}/db.new`, "report_level=added_removed_entries", "report_format=json", "report_base16=true", "W = p+i+n+u+g+s+m+l+ftype+sha256", `${tree} W`, ""].join("\n"));
  const policy = join(work, "tree.promise");
  writeFileSync(policy, `control "FIM-1" {\n  title = "tree"\n  directory "${tree}" { recurse = true watch = realtime }\n}\n`, { mode: 0o600 });
  mkdirSync(join(work, "state"), { mode: 0o700 });
  const init = covenant(["integrity", "init", "--state", join(work, "state"), "--policy", policy]);
  expect(init.code, init.err).toBe(0);
  aide(conf, "--init");
  renameSync(join(work, "db.new"), join(work, "db"));
  plan.forEach((e, i) => e.ops.forEach((op) => apply(at(e, i), op, i)));
  const report = aide(conf, "--check");
  const run = covenant(["run", "--json", "--state", join(work, "state"), policy]);
  expect([0, 1], run.err).toContain(run.code);
  const findings = (JSON.parse(run.out) as { controls: { promises: { findings?: { path: string; changes: { kind: ChangeKind }[] }[] }[] }[] }).controls[0]!.promises[0]!.findings ?? [];
  const ours = new Map(findings.map((f) => [f.path, [...new Set(f.changes.flatMap((d) => (d.kind === "created" || d.kind === "deleted" || d.kind === "status" ? [d.kind] : aideNames[d.kind])))].sort()]));
  const theirs = new Map<string, string[]>();
  for (const p of Object.keys(report.added ?? {})) theirs.set(p, ["created"]);
  for (const p of Object.keys(report.removed ?? {})) theirs.set(p, ["deleted"]);
  for (const [p, d] of Object.entries(report.details ?? {})) if (!theirs.has(p)) theirs.set(p, [...new Set(Object.keys(d).map((n) => (n === "size" || n === "sha256" ? "content" : n)))].sort());
  for (const path of new Set([...ours.keys(), ...theirs.keys()])) expect(ours.get(path) ?? [], `${path} after ${JSON.stringify(plan)}`).toEqual(theirs.get(path) ?? []);
}

describe("covenant run after covenant integrity init agrees with aide --check", () => {
  it("on every single change to entries of a recursive tree", async () => {
    const plan = (["file", "directory", "symlink", "none"] as const).flatMap((initial) => ops.map((op, k) => ({ initial, ops: [op], sub: k % 2 === 1 })));
    await compareRunWithAide(plan);
  }, 60_000);

  it("on random sequences of changes", async () => {
    const entry = fc.record({ initial: fc.constantFrom<Initial>("file", "directory", "symlink", "none"), ops: fc.array(fc.constantFrom(...ops), { maxLength: 3 }), sub: fc.boolean() });
    await fc.assert(fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 10 }), compareRunWithAide), { numRuns: 5 });
  }, 120_000);
});
