// The change gate's `edit`: an existing file's content replaced by an edit of it, keeping its
// mode and owner, only while it is the file observed and holds the bytes observed.
import { createHash } from "node:crypto";
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ChangeGate, type Change } from "../../src/evaluator/change-gate.ts";
import { identityOfPath } from "../../src/probes/file-identity.ts";

const temp = () => mkdtempSync(join(tmpdir(), "covenant-edit-"));
const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
const identity = (p: string) => identityOfPath(p);
const editOf = (path: string, content: string): Extract<Change, { op: "edit" }> => ({ op: "edit", path, content, digest: sha(path), expect: identity(path), summary: "set X to 1 (line 1)" });
const apply = async (change: Change, gate = new ChangeGate({ dryRun: false })) => (await gate.apply([change]))[0]!;

describe("edit changes", () => {
  it("replaces the content and keeps the file's mode and owner", async () => {
    const f = join(temp(), "sshd_config");
    writeFileSync(f, "X 0\n# kept\n");
    chmodSync(f, 0o640);
    if (process.getuid?.() === 0) chownSync(f, 1, 2);
    const r = await apply(editOf(f, "X 1\n# kept\n"));
    expect(r).toMatchObject({ status: "applied", description: `edit ${f}: set X to 1 (line 1)` });
    expect(readFileSync(f, "utf8")).toBe("X 1\n# kept\n");
    expect(lstatSync(f).mode & 0o7777).toBe(0o640);
    if (process.getuid?.() === 0) expect([lstatSync(f).uid, lstatSync(f).gid]).toEqual([1, 2]);
  });

  it("is refused when the content changed since it was observed, or the file was replaced", async () => {
    const d = temp();
    const f = join(d, "login.defs");
    writeFileSync(f, "A 1\n");
    const change = editOf(f, "A 2\n");
    writeFileSync(f, "A 1\nB 3\n");
    const r = await apply(change);
    expect(r).toMatchObject({ status: "failed" });
    expect(r.detail).toMatch(/changed while being repaired \(its content changed since it was observed\)/);
    expect(readFileSync(f, "utf8")).toBe("A 1\nB 3\n");
    const other = join(d, "other");
    writeFileSync(f, "A 1\n");
    const again = editOf(f, "A 2\n");
    writeFileSync(other, "A 1\n");
    renameSync(other, f);
    expect(await apply(again)).toMatchObject({ status: "failed", detail: expect.stringMatching(/no longer the file that was observed/) });
  });

  it("does not edit through a symbolic link, in the path or at its end", async () => {
    const d = temp();
    mkdirSync(join(d, "real"));
    writeFileSync(join(d, "real/f"), "A 1\n");
    symlinkSync("real", join(d, "via"));
    symlinkSync("f", join(d, "real/link"));
    const viaDir = await apply({ ...editOf(join(d, "real/f"), "A 2\n"), path: join(d, "via/f") });
    expect(viaDir).toMatchObject({ status: "failed", detail: expect.stringMatching(/symbolic link/) });
    const atEnd = await apply({ op: "edit", path: join(d, "real/link"), content: "A 2\n", digest: sha(join(d, "real/f")), expect: identity(join(d, "real/link")), summary: "s" });
    expect(atEnd).toMatchObject({ status: "failed", detail: expect.stringMatching(/symbolic link/) });
    expect(readFileSync(join(d, "real/f"), "utf8")).toBe("A 1\n");
  });

  it("is held outside a sandbox, and only planned in a dry run", async () => {
    const f = join(temp(), "f");
    writeFileSync(f, "A 1\n");
    expect(await apply(editOf(f, "A 2\n"), new ChangeGate({ dryRun: false, confineTo: temp() }))).toMatchObject({ status: "held" });
    expect(await apply(editOf(f, "A 2\n"), new ChangeGate({ dryRun: true }))).toMatchObject({ status: "planned" });
    expect(readFileSync(f, "utf8")).toBe("A 1\n");
  });
});
