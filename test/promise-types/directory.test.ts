import { chmodSync, existsSync, mkdirSync, mkdtempSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { evaluateOne } from "../helpers/evaluate.ts";
import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("directory", {
  valid: [
    'directory "/srv/ledger" { mode = 0750 owner = "ledger" group = "finance" }',
    'directory "/srv/ledger" { recurse = true max_depth = 4 max_mode = 0770 }',
    'directory "/srv/inbox" { exists = true repair = create watch = realtime }',
    'directory "/etc/cron.d" { exists = optional max_mode = 0700 owner = "root" }',
    'directory "/srv/ledger" { recurse = true integrity = sha256 mask = ["^ledger_key_v2\\\\s+(?<secret>\\\\S+)"] }',
    'directory "/srv/shared" { recurse = true owner = "ledger" repair = perms allow_hardlinks = true }',
  ],
  invalid: [
    { promise: 'directory "/srv" { max_depth = 0 }', code: "E103", message: "`max_depth` must be a whole number from 1 to 64, got `0`" },
    { promise: 'directory "/srv" { repair = content }', code: "E103", message: /did you mean|expected one of `perms`, `create`/ },
  ],
});

describe("directory behaviour", () => {
  const dir = () => mkdtempSync(join(tmpdir(), "covenant-dir-"));
  const mode = (p: string) => statSync(p).mode & 0o7777;

  it("kept and drift on the directory itself", async () => {
    const d = dir();
    chmodSync(d, 0o750);
    expect((await evaluateOne(`directory "${d}" { mode = 0750 owner = "root" }`)).outcome).toBe("kept");
    const r = await evaluateOne(`directory "${d}" { mode = 0700 }`);
    expect(r.outcome).toBe("drift");
    expect(r.reason).toBe(`${d}: mode is 0750, promised 0700`);
  });

  it("recurse: owner, group and max_mode hold below it; the repair fixes every entry, files and subdirectories alike", async () => {
    const d = dir();
    chmodSync(d, 0o750);
    mkdirSync(join(d, "2026/11"), { recursive: true });
    chmodSync(join(d, "2026"), 0o777);
    writeFileSync(join(d, "2026/11/gl.dat"), "x");
    chmodSync(join(d, "2026/11/gl.dat"), 0o666);
    writeFileSync(join(d, "ok.dat"), "x");
    chmodSync(join(d, "ok.dat"), 0o640);
    const drift = await evaluateOne(`directory "${d}" { max_mode = 0750 recurse = true }`);
    expect(drift.outcome).toBe("drift");
    expect(drift.differences.map((x) => x.subject)).toEqual([`${d}/2026`, `${d}/2026/11`, `${d}/2026/11/gl.dat`]);
    const r = await evaluateOne(`directory "${d}" { max_mode = 0750 recurse = true repair = perms }`);
    expect(r.outcome).toBe("repaired");
    expect(mode(join(d, "2026"))).toBe(0o750);
    expect(mode(join(d, "2026/11/gl.dat"))).toBe(0o640);
    expect(mode(join(d, "ok.dat"))).toBe(0o640);
  });

  it("max_depth bounds the walk and says so", async () => {
    const d = dir();
    mkdirSync(join(d, "a/b/c"), { recursive: true });
    const r = await evaluateOne(`directory "${d}" { owner = "root" recurse = true max_depth = 1 }`);
    expect(r.outcome).toBe("kept");
    expect(r.notes).toContain(`${d}/a: not searched, deeper than max_depth 1`);
  });

  it("create: a missing directory is created with its mode; dry run creates nothing", async () => {
    const d = dir();
    const target = join(d, "srv/ledger");
    const dry = await evaluateOne(`directory "${target}" { mode = 0750 repair = create }`, { dryRun: true });
    expect(dry.outcome).toBe("drift");
    expect(existsSync(target)).toBe(false);
    const r = await evaluateOne(`directory "${target}" { mode = 0750 owner = "root" repair = create }`);
    expect(r.outcome).toBe("repaired");
    expect(mode(target)).toBe(0o750);
  });

  it("failed: a directory that cannot be created (its parent is a file); a file where a directory is promised is drift", async () => {
    const d = dir();
    writeFileSync(join(d, "ledger"), "x");
    const r = await evaluateOne(`directory "${d}/ledger" { mode = 0750 repair = create }`);
    expect(r.outcome).toBe("drift");
    expect(r.reason).toBe(`${d}/ledger is a file, not a directory`);
    const missing = await evaluateOne(`directory "${d}/nope" { mode = 0750 }`);
    expect(missing.reason).toBe(`${d}/nope does not exist`);
    // a missing parent that is a file makes mkdir fail: the repair is attempted and fails
    const failed = await evaluateOne(`directory "${d}/ledger/sub" { mode = 0750 repair = create }`);
    expect(failed.outcome).toBe("failed");
    expect(failed.reason).toBe(`repair failed: mkdir -m 0750 ${d}/ledger/sub: ${d}/ledger is not a directory`);
  });
});

describe("directory: exists = optional (\"if present\")", () => {
  const dir = () => mkdtempSync(join(tmpdir(), "covenant-dir-optional-"));

  it("kept: a missing directory, and `repair = create` creates nothing for it", async () => {
    const d = dir();
    const target = join(d, "srv/optional");
    const r = await evaluateOne(`directory "${target}" { exists = optional mode = 0750 repair = [create, perms] }`);
    expect(r).toMatchObject({ outcome: "kept", changes: [] });
    expect(existsSync(target)).toBe(false);
  });

  it("drift and repaired: a directory that is there is judged by the other attributes", async () => {
    const d = dir();
    chmodSync(d, 0o755);
    const r = await evaluateOne(`directory "${d}" { exists = optional mode = 0700 }`);
    expect(r.reason).toBe(`${d}: mode is 0755, promised 0700`);
    expect((await evaluateOne(`directory "${d}" { exists = optional mode = 0700 repair = perms }`)).outcome).toBe("repaired");
    expect(statSync(d).mode & 0o7777).toBe(0o700);
  });

  it("a symbolic link at the path is drift (type), not followed", async () => {
    const d = dir();
    mkdirSync(join(d, "real"));
    symlinkSync(join(d, "real"), join(d, "link"));
    const r = await evaluateOne(`directory "${d}/link" { exists = optional owner = "root" }`);
    expect(r.outcome).toBe("drift");
    expect(r.differences).toMatchObject([{ attribute: "type", expected: "directory", observed: "symlink" }]);
  });
});
