// Integrity promises compared with their approved state (issue 15), with real files and the real
// store: what changed in AIDE's terms, the masked diff, and nothing secret kept anywhere.
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { PromiseResult } from "../../src/evaluator/engine.ts";
import { StateStore } from "../../src/store/store.ts";
import { run, scene as sceneIn } from "../helpers/recorded-run.ts";

const scene = (promises: (dir: string) => string) => sceneIn(promises, "covenant-integrity-");


const kinds = (r: PromiseResult | undefined, path: string) => r?.findings?.find((f) => f.path === path)?.changes.map((c) => c.kind);

describe("integrity promises against their approved state", () => {
  it("a file's changes in AIDE's terms, with a diff whose secret lines are masked and kept nowhere", async () => {
    const s = scene((d) => `  file "${d}/app.conf" { integrity = sha256 }`);
    const conf = join(s.dir, "app.conf");
    writeFileSync(conf, "listen = 80\npassword = hunter2-old\nlog = info\n");
    const first = (await run(s)).get(conf)!;
    expect(first.outcome).toBe("kept");
    expect(first.findings).toBeUndefined();
    expect(first.notes.join("\n")).toMatch(/integrity state of .*app\.conf recorded as approved \(first observation\)/);

    writeFileSync(conf, "listen = 8080\npassword = hunter2-new\nlog = info\n");
    chmodSync(conf, 0o600);
    const second = (await run(s)).get(conf)!;
    expect(second.outcome).toBe("drift");
    expect(kinds(second, conf)).toEqual(expect.arrayContaining(["content", "mode", "mtime"]));
    const diff = second.findings![0]!.diff!;
    expect(diff.kind).toBe("diff");
    if (diff.kind !== "diff") return;
    expect(diff.text).toContain("@@ -1,3 +1,3 @@\n-listen = 80\n-password = ****\n+listen = 8080\n+password = ****\n log = info\n");
    // the secret line changed: shown as changed, masked on both sides
    expect(diff.text).toContain("-password = ****\n");
    expect(diff.text).toContain("+password = ****\n");
    expect(diff.maskedLines).toBe(2);
    expect(diff.text).not.toMatch(/hunter2/);
    const db = readFileSync(join(s.state, "state.db"));
    expect(db.includes("hunter2")).toBe(false);
    // the change record keeps the changes and the masked diff
    const store = StateStore.openReadOnly(s.state);
    const change = store.history({ kinds: ["change"] }).at(-1)!.body as { findings?: { changes: string[]; diff?: { text?: string } }[] };
    store.close();
    expect(change.findings?.[0]?.diff?.text).toContain("+password = ****");
    expect(change.findings?.[0]?.changes.join("\n")).toMatch(/mode 0644 → 0600/);
  });

  it("an unchanged secret line is not a change; a masked line that changed is", async () => {
    const s = scene((d) => `  file "${d}/a.env" { integrity = sha256 }`);
    const f = join(s.dir, "a.env");
    writeFileSync(f, "API_TOKEN=abc123456789\nNAME=one\n");
    await run(s);
    writeFileSync(f, "API_TOKEN=abc123456789\nNAME=two\n");
    const d1 = (await run(s)).get(f)!.findings![0]!.diff!;
    expect(d1.kind === "diff" && d1.text).toContain(" API_TOKEN=****\n-NAME=one\n+NAME=two\n");
    expect(d1.kind === "diff" && d1.maskedLines).toBe(1);
  });

  it("a promise's own `mask` patterns hide what no built-in pattern knows, in the diff and in the store", async () => {
    const s = scene((d) => `  file "${d}/ledger.conf" {\n    integrity = sha256\n    mask = ["^ledger_key_v2\\\\s+(?<secret>\\\\S+)", "LGR-[0-9A-F]{8}"]\n  }`);
    const f = join(s.dir, "ledger.conf");
    writeFileSync(f, "ledger_key_v2 k1-alpha-secret\nnote = ref LGR-0123ABCD here\nlimit = 10\n");
    await run(s);
    writeFileSync(f, "ledger_key_v2 k2-bravo-secret\nnote = ref LGR-4567CDEF here\nlimit = 20\n");
    const diff = (await run(s)).get(f)!.findings![0]!.diff!;
    expect(diff.kind).toBe("diff");
    if (diff.kind !== "diff") return;
    expect(diff.text).toContain("-ledger_key_v2 ****\n-note = ref **** here\n-limit = 10\n+ledger_key_v2 ****\n+note = ref **** here\n+limit = 20\n");
    expect(diff.text).not.toMatch(/alpha|bravo|0123ABCD|4567CDEF/);
    const db = readFileSync(join(s.state, "state.db"));
    for (const secret of ["k1-alpha-secret", "k2-bravo-secret", "LGR-0123ABCD", "LGR-4567CDEF"]) expect(db.includes(secret), secret).toBe(false);
    // without the patterns, the built-in ones would have shown both (the test's premise)
    const plain = scene((d) => `  file "${d}/ledger.conf" { integrity = sha256 }`);
    const g = join(plain.dir, "ledger.conf");
    writeFileSync(g, "ledger_key_v2 k1-alpha-secret\n");
    await run(plain);
    writeFileSync(g, "ledger_key_v2 k2-bravo-secret\n");
    const shown = (await run(plain)).get(g)!.findings![0]!.diff!;
    expect(shown.kind === "diff" && shown.text).toMatch(/k2-bravo-secret/);
  });

  it("a glob's files are a set: once approved, a new match is created and one no longer matched is deleted", async () => {
    const s = scene((d) => `  file "${d}/ledger/*.dat" { integrity = sha256 }`);
    const dir = join(s.dir, "ledger");
    mkdirSync(dir);
    for (const n of ["a", "b"]) writeFileSync(join(dir, `${n}.dat`), `${n}\n`);
    const key = `${dir}/*.dat`;
    const first = (await run(s)).get(key)!;
    expect(first.outcome).toBe("kept");
    expect(first.notes.join("\n")).toMatch(/integrity state of 2 paths recorded as approved \(first observation\)/);
    // an attacker's new file matching the glob is not approved on sight
    writeFileSync(join(dir, "c.dat"), "planted\n");
    rmSync(join(dir, "a.dat"));
    renameSync(join(dir, "b.dat"), join(dir, "b.old"));
    const r = (await run(s)).get(key)!;
    expect(r.outcome).toBe("drift");
    expect(kinds(r, join(dir, "c.dat"))).toEqual(["created"]);
    expect(kinds(r, join(dir, "a.dat"))).toEqual(["deleted"]);
    expect(kinds(r, join(dir, "b.dat"))).toEqual(["deleted"]);
    expect(r.differences.map((d) => d.subject).sort()).toEqual([join(dir, "a.dat"), join(dir, "b.dat"), join(dir, "c.dat")]);
  });

  it("nodiff: no diff and no digest in the finding, nor in the store", async () => {
    const s = scene((d) => `  file "${d}/pin" { integrity = sha256 nodiff = true }`);
    const f = join(s.dir, "pin");
    writeFileSync(f, "PIN-QZXW\n");
    await run(s);
    writeFileSync(f, "PIN-KJHY\n");
    const r = (await run(s)).get(f)!;
    const finding = r.findings![0]!;
    expect(finding.diff).toEqual({ kind: "none", reason: "nodiff: the content is never shown" });
    const content = finding.changes.find((c) => c.kind === "content")!;
    expect(content.text).toMatch(/digests withheld: nodiff/);
    const db = readFileSync(join(s.state, "state.db"));
    // (not digits: a timestamp or a hex digest in the store may hold any short run of them)
    for (const pin of ["PIN-QZXW", "PIN-KJHY"]) expect(db.includes(pin)).toBe(false);
    const { createHash } = await import("node:crypto");
    for (const pin of ["PIN-QZXW\n", "PIN-KJHY\n"]) expect(db.includes(createHash("sha256").update(pin).digest("hex"))).toBe(false);
  });

  it("a realtime directory tree: entries created, deleted, changed, replaced and retargeted, as AIDE reports them", async () => {
    const s = scene((d) => `  directory "${d}/tree" { recurse = true watch = realtime }`);
    const tree = join(s.dir, "tree");
    mkdirSync(join(tree, "sub"), { recursive: true });
    writeFileSync(join(tree, "keep"), "k\n");
    writeFileSync(join(tree, "chmod"), "c\n");
    writeFileSync(join(tree, "gone"), "g\n");
    writeFileSync(join(tree, "sub", "edit"), "one\n");
    writeFileSync(join(tree, "swap"), "s\n");
    symlinkSync("keep", join(tree, "link"));
    const first = (await run(s)).get(tree)!;
    expect(first.outcome).toBe("kept");
    expect(first.notes.join("\n")).toMatch(/integrity state of 8 paths recorded as approved/);
    expect(first.findings).toBeUndefined();

    chmodSync(join(tree, "chmod"), 0o600);
    unlinkSync(join(tree, "gone"));
    writeFileSync(join(tree, "sub", "edit"), "two\n");
    writeFileSync(join(tree, "new"), "n\n");
    writeFileSync(join(tree, "swap.tmp"), "s\n");
    renameSync(join(tree, "swap.tmp"), join(tree, "swap"));
    unlinkSync(join(tree, "link"));
    symlinkSync("chmod", join(tree, "link"));
    const r = (await run(s)).get(tree)!;
    const byPath = new Map(r.findings!.map((f) => [f.path.slice(tree.length + 1), f.changes.map((c) => c.kind)]));
    expect(byPath.get("chmod")).toEqual(["mode"]);
    expect(byPath.get("gone")).toEqual(["deleted"]);
    expect(byPath.get("new")).toEqual(["created"]);
    expect(byPath.get("sub/edit")).toEqual(expect.arrayContaining(["content", "mtime"]));
    expect(byPath.get("swap")).toEqual(expect.arrayContaining(["inode"]));
    // retargeted by a new link: the inode number may be reused (as for a file re-created), the target is what differs
    expect(byPath.get("link")).toEqual(expect.arrayContaining(["link-target"]));
    expect(byPath.has("keep")).toBe(false);
    const edit = r.findings!.find((f) => f.path.endsWith("sub/edit"))!;
    expect(edit.diff?.kind === "diff" && edit.diff.text).toContain("-one\n+two\n");
    // still found on the next run: nothing approved it
    expect((await run(s)).get(tree)!.findings?.length).toBe(r.findings!.length);
  });

  it("a tree entry rewritten with the same size and its mtime set back is still found (its change time moved)", async () => {
    const s = scene((d) => `  directory "${d}/tree" { recurse = true watch = realtime }`);
    const tree = join(s.dir, "tree");
    mkdirSync(tree);
    const f = join(tree, "ledger");
    writeFileSync(f, "balance = 100\n");
    const old = new Date("2001-01-01T00:00:00Z");
    utimesSync(f, old, old);
    await run(s);
    expect((await run(s)).get(tree)!.findings).toBeUndefined();
    writeFileSync(f, "balance = 999\n");
    utimesSync(f, old, old);
    const r = (await run(s)).get(tree)!;
    expect(r.findings?.find((x) => x.path === f)?.changes.map((c) => c.kind)).toEqual(["content"]);
  });

  it("a file deleted is `deleted`; re-created, it is changed (the inode number may be reused, as AIDE sees it too)", async () => {
    const s = scene((d) => `  file "${d}/f" { watch = realtime }`);
    const f = join(s.dir, "f");
    writeFileSync(f, "x\n");
    await run(s);
    unlinkSync(f);
    expect(kinds((await run(s)).get(f), f)).toEqual(["deleted"]);
    writeFileSync(f, "x\n");
    const again = kinds((await run(s)).get(f), f)!;
    expect(again.length).toBeGreaterThan(0);
    expect(again).not.toContain("created");
  });
});

describe("a repair Covenant makes is the approved state after it", () => {
  it("a file chmod'ed back by `repair = perms` is not reported as changed since approved by later runs, and the approval is recorded", async () => {
    const s = scene((d) => `  file "${d}/gl.dat" { integrity = sha256\n    mode = 0640\n    repair = perms }\n  directory "${d}" { watch = realtime }`);
    const gl = join(s.dir, "gl.dat");
    writeFileSync(gl, "ledger\n", { mode: 0o664 });
    chmodSync(gl, 0o664);
    const first = await run(s);
    expect(first.get(gl)!.outcome).toBe("repaired");
    // the first observation approved the state before the repair (0664): the repair's state replaces it
    for (let i = 0; i < 2; i++) {
      const again = await run(s);
      expect(again.get(gl)!.outcome).toBe("kept");
      expect(again.get(gl)!.findings).toBeUndefined();
      // (the state directory, inside the tree, changes with every run)
      expect((again.get(s.dir)!.findings ?? []).filter((f) => f.path === gl)).toEqual([]);
    }
    const store = StateStore.open(s.state);
    try {
      const approvals = store.history({}).filter((r) => r.kind === "approval").map((r) => (r.body as { how?: string }).how);
      expect(approvals).toContain("repaired");
      // the copy approved with the repaired state is of the content as it is (made from the bytes hashed)
      const approved = store.approved(gl)!;
      expect(approved.state).toMatchObject({ mode: 0o640, size: 7 });
      expect(store.approvedCopy(gl, approved.record)).toEqual({ copy: { text: "ledger\n", secrets: {} } });
    } finally {
      store.close();
    }
  });

  it("keeps no secret of a CRLF file in the copy approved after a repair", async () => {
    const s = scene((d) => `  file "${d}/app.conf" { integrity = sha256\n    mode = 0600\n    repair = perms }`);
    const conf = join(s.dir, "app.conf");
    writeFileSync(conf, "user = app\r\ndb_password = hunter2\r\n", { mode: 0o644 });
    chmodSync(conf, 0o644);
    expect((await run(s)).get(conf)!.outcome).toBe("repaired");
    const store = StateStore.open(s.state);
    try {
      const approved = store.approved(conf)!;
      expect(approved.state).toMatchObject({ mode: 0o600 });
      const kept = store.approvedCopy(conf, approved.record) as { copy: { text: string; secrets: Record<string, string> } };
      expect(kept.copy.text).toBe("user = app\r\ndb_password = ****\r\n");
      expect(Object.keys(kept.copy.secrets)).toEqual(["1"]);
    } finally {
      store.close();
    }
  });
});
