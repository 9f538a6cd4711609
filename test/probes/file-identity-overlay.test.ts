// Identities through the real file system where inode numbers exceed 2^53: an overlay mount with
// xino over a lower and an upper layer on two tmpfs (two file systems, so the lower layer's index
// goes into the top bits: its files' numbers are 2^63 + n, where a double's step is 2048). A file
// renamed over its neighbour from the same layer keeps its own number, one that rounds to the same
// double as the file it replaced: each check that a file is the one observed must refuse it.
// Needs root (mount); skipped, saying why, where the mount is not permitted or the numbers stay small.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, lstatSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { mountXinoOverlay, writePairs } from "../helpers/xino-overlay.ts";
import { ChangeGate } from "../../src/evaluator/change-gate.ts";
import { describeChange } from "../../src/integrity/file-change.ts";
import { readFileState } from "../../src/integrity/file-state.ts";
import { identityOf, identityOfPath, sameObject } from "../../src/probes/file-identity.ts";
import { fromBigIntStats, hash, readSmall, stat } from "../../src/probes/files.ts";
import { walkTree } from "../../src/probes/tree-walk.ts";

const PAIRS = ["hash", "small", "chmod", "edit", "restore", "state"];
const overlay = mountXinoOverlay("covenant-xino-", (lower) => {
  writePairs(lower, PAIRS);
  mkdirSync(join(lower, "tree"));
  writeFileSync(join(lower, "tree", "entry"), "entry\n");
}, "hash1");
const { base, merged, skipped } = overlay;

afterAll(() => overlay.cleanUp());

/** The file `<name>1`, observed; then `<name>2` renamed over it: the neighbour, whose number rounds to the same double. */
function observeThenSwap(name: string) {
  const path = join(merged, `${name}1`);
  const observed = stat(path);
  if (!observed.ok) throw new Error(observed.error.message);
  renameSync(join(merged, `${name}2`), path);
  const now = stat(path);
  if (!now.ok) throw new Error(now.error.message);
  // the premise: a comparison of numbers would take the swapped file for the one observed
  expect([now.value.dev, now.value.inode]).toEqual([observed.value.dev, observed.value.inode]);
  expect(now.value.inodeExact).not.toBe(observed.value.inodeExact);
  return { path, observed: observed.value };
}

describe.skipIf(skipped !== undefined)(`identities above 2^53 through an overlay with xino${skipped ? ` (skipped: ${skipped})` : ""}`, () => {
  it("reads inode numbers as stat(1) gives them, every digit, by the addon, its tree walk and Node's bigint lstat alike", () => {
    const path = join(merged, "hash2");
    const theirs = execFileSync("stat", ["-c", "%i", path], { encoding: "utf8" }).trim();
    expect(BigInt(theirs) >= 2n ** 53n).toBe(true);
    const s = stat(path);
    expect(s.ok && s.value.inodeExact).toBe(theirs);
    expect(s.ok && identityOf(s.value)).toEqual(identityOfPath(path));
    expect(fromBigIntStats(path, lstatSync(path, { bigint: true }))).toEqual(s.ok && s.value);
    const walked = [...(walkTree(join(merged, "tree"), 1) ?? [])];
    const entry = walked.find((r) => r.kind === "entry");
    expect(entry?.kind === "entry" && entry.stat.inodeExact).toBe(execFileSync("stat", ["-c", "%i", join(merged, "tree", "entry")], { encoding: "utf8" }).trim());
  });

  it("refuses to hash, or read, a file swapped for its neighbour between its observation and its opening", async () => {
    const h = observeThenSwap("hash");
    expect(await hash(h.path, "sha256", { expect: identityOf(h.observed) })).toMatchObject({ ok: false, error: { message: expect.stringContaining("changed while being observed") } });
    const r = observeThenSwap("small");
    expect(readSmall(r.path, 1024, identityOf(r.observed))).toMatchObject({ ok: false, error: { message: expect.stringContaining("changed while being observed") } });
    // the file that is there now, observed afresh, is read
    const again = stat(r.path);
    expect(again.ok && (await hash(r.path, "sha256", { expect: identityOf(again.value) })).ok).toBe(true);
  });

  it("changes nothing through the change gate on a file swapped for its neighbour: chmod, edit, restore", async () => {
    const gate = new ChangeGate({ dryRun: false });
    const c = observeThenSwap("chmod");
    const modeBefore = lstatSync(c.path).mode & 0o7777;
    const e = observeThenSwap("edit");
    const r = observeThenSwap("restore");
    const copy = join(base, "approved-copy");
    writeFileSync(copy, "approved\n");
    chmodSync(copy, 0o644);
    const sha = createHash("sha256").update("edit 1\n").digest("hex");
    const records = await gate.apply([
      { op: "chmod", path: c.path, mode: 0o600, expect: identityOf(c.observed) },
      { op: "edit", path: e.path, content: "edited\n", digest: sha, summary: "edit", expect: identityOf(e.observed) },
      { op: "restore", path: r.path, from: copy, algorithm: "sha256", expect: identityOf(r.observed) },
    ]);
    gate.close();
    for (const record of records) expect(record).toMatchObject({ status: "failed", detail: expect.stringContaining("changed while being repaired") });
    expect(lstatSync(c.path).mode & 0o7777).toBe(modeBefore);
    expect(sameObject(identityOfPath(e.path), identityOf(e.observed))).toBe(false);
  });

  it("reports the neighbour renamed over a watched file as a replacement, with both numbers in full", async () => {
    const path = join(merged, "state1");
    const before = await readFileState(path);
    renameSync(join(merged, "state2"), path);
    const after = await readFileState(path);
    const replaced = describeChange(before, after).find((d) => d.kind === "inode");
    const [was, is] = [before, after].map((s) => (s.status === "present" ? s.inodeExact : undefined));
    expect(replaced?.text).toBe(`replaced: inode ${was} → ${is} (renamed over or re-created)`);
  });
});
