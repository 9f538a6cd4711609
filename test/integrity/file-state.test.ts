import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, linkSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { safeFs } from "../../src/native/safe-fs.ts";
import { readFileState, readFileStateAndContent, statusText, type FileState, type PresentState } from "../../src/integrity/file-state.ts";

const dir = mkdtempSync(join(tmpdir(), "covenant-file-state-"));

function present(s: FileState): PresentState {
  if (s.status !== "present") throw new Error(`${s.path} is ${statusText(s)}`);
  return s;
}

/** What stat(1) and sha256sum say of the path itself, in the state's terms. */
function theirs(path: string) {
  const [mode, inode, nlink, uid, gid, size, mtime, dev] = execFileSync("stat", ["-c", "%a %i %h %u %g %s %.9Y %d", path], { encoding: "utf8" }).trim().split(" ");
  return { mode: parseInt(mode!, 8), inode: Number(inode), nlink: Number(nlink), uid: Number(uid), gid: Number(gid), size: Number(size), mtimeS: Number(mtime), dev: Number(dev) };
}

describe("file state", () => {
  it("gives a regular file's p+i+n+u+g+s+m+ftype+sha256 as stat(1) and sha256sum do", async () => {
    const f = join(dir, "ledger.conf");
    writeFileSync(f, "limit = 10\n");
    chmodSync(f, 0o4751);
    linkSync(f, join(dir, "ledger.hard"));
    const s = present(await readFileState(f));
    const t = theirs(f);
    expect({ mode: s.mode, inode: s.inode, nlink: s.nlink, uid: s.uid, gid: s.gid, size: s.size, dev: s.dev }).toEqual({ mode: t.mode, inode: t.inode, nlink: t.nlink, uid: t.uid, gid: t.gid, size: t.size, dev: t.dev });
    expect([s.mode, s.nlink, s.size]).toEqual([0o4751, 2, 11]);
    expect(s.mtimeMs / 1000).toBeCloseTo(t.mtimeS, 3);
    expect(s.type).toBe("file");
    expect(s.sha256).toBe(execFileSync("sha256sum", [f], { encoding: "utf8" }).split(" ")[0]);
    expect(s.linkTarget).toBeUndefined();
    expect(s.hashSkipped).toBeUndefined();
  });

  it("observes a symbolic link itself, never what it points at, whatever that is", async () => {
    for (const target of ["/dev/zero", join(dir, "ledger.conf"), "nowhere/at/all"]) {
      const l = join(dir, `link-${target.length}`);
      symlinkSync(target, l);
      const s = present(await readFileState(l));
      expect([s.type, s.linkTarget, s.size, s.sha256, s.hashSkipped]).toEqual(["symlink", target, Buffer.byteLength(target), undefined, undefined]);
      expect(s.inode).toBe(theirs(l).inode);
    }
  });

  it("gives directories, FIFOs and devices no hash, and never blocks on a FIFO", async () => {
    const fifo = join(dir, "pipe");
    execFileSync("mkfifo", [fifo]);
    for (const [path, type] of [[fifo, "fifo"], [dir, "directory"], ["/dev/null", "char-device"]]) {
      const s = present(await readFileState(path!));
      expect([s.type, "sha256" in s, "hashSkipped" in s, "linkTarget" in s]).toEqual([type, false, false, false]);
    }
  });

  it("says absent for a path that is not there, or under a file", async () => {
    expect(await readFileState(join(dir, "missing"))).toEqual({ status: "absent", path: join(dir, "missing") });
    expect(await readFileState(join(dir, "ledger.conf", "below"))).toEqual({ status: "absent", path: join(dir, "ledger.conf", "below") });
  });

  it.skipIf(!safeFs())("says unreadable (ELOOP) for a path that crosses a symbolic link, naming it", async () => {
    mkdirSync(join(dir, "real"));
    writeFileSync(join(dir, "real", "x"), "x");
    symlinkSync(join(dir, "real"), join(dir, "via"));
    const s = await readFileState(join(dir, "via", "x"));
    expect(s).toMatchObject({ status: "unreadable", code: "ELOOP", reason: expect.stringContaining(`${join(dir, "via")} is a symbolic link`) });
    expect(statusText(s)).toBe("unreadable (ELOOP)");
  });

  it("reads below an injected root, reporting the policy's path, and no `..` climbs out of it", async () => {
    const root = join(dir, "host");
    mkdirSync(join(root, "etc"), { recursive: true });
    writeFileSync(join(root, "etc", "sudoers"), "root ALL=(ALL) ALL\n");
    const s = present(await readFileState("/etc/sudoers", { root }));
    expect([s.path, s.size, s.inode]).toEqual(["/etc/sudoers", 19, theirs(join(root, "etc", "sudoers")).inode]);
    const up = present(await readFileState("/../../etc/sudoers", { root }));
    expect(up.inode).toBe(s.inode);
  });

  it("does not hash above the size limit and says so; a keyed digest when asked (nodiff)", async () => {
    const f = join(dir, "big");
    writeFileSync(f, Buffer.alloc(2048, 1));
    const s = present(await readFileState(f, { maxHashBytes: 1024 }));
    expect([s.sha256, s.hashSkipped]).toEqual([undefined, "2.0 KiB, larger than the 1.0 KiB hashed"]);
    expect(present(await readFileState(f, { maxHashBytes: 2048 })).sha256).toMatch(/^[0-9a-f]{64}$/);
    const keyed = present(await readFileState(f, { keyDigest: (d) => `hmac(${d})` }));
    const plain = present(await readFileState(f));
    expect([keyed.sha256, keyed.sha256Keyed]).toEqual([`hmac(${plain.sha256})`, true]);
  });

  it("never throws: what the probes did not foresee makes the path unreadable, with the reason", async () => {
    const f = join(dir, "keyed");
    writeFileSync(f, "pin 1234");
    const keyDigest = () => {
      throw Object.assign(new Error("the host key is missing"), { code: "ENOKEY" });
    };
    expect(await readFileState(f, { keyDigest })).toEqual({ status: "unreadable", path: f, code: "ENOKEY", reason: `cannot observe ${f}: the host key is missing` });
  });

  it("says a stopped hash was not made, never an empty digest", async () => {
    const f = join(dir, "stopped");
    writeFileSync(f, "content");
    const s = present(await readFileState(f, { signal: AbortSignal.abort() }));
    expect([s.sha256, s.hashSkipped]).toEqual([undefined, `stopped hashing ${f} after 0 bytes: the timeout expired`]);
  });

  it("says unreadable (EACCES) where the observer may not look, and why a file's content was not hashed", () => {
    const closed = join(dir, "closed");
    mkdirSync(closed, { mode: 0o700 });
    writeFileSync(join(closed, "inside"), "x");
    const sealed = join(dir, "sealed");
    writeFileSync(sealed, "secret");
    chmodSync(sealed, 0o000);
    const script = join(dir, "observe.mts");
    writeFileSync(
      script,
      `import { readFileState } from ${JSON.stringify(join(process.cwd(), "src/integrity/file-state.ts"))};\n` +
        `const out = [];\nfor (const p of process.argv.slice(2)) out.push(await readFileState(p));\nprocess.stdout.write(JSON.stringify(out));\n`,
    );
    chmodSync(dir, 0o755);
    // tsx keeps its cache in TMPDIR, which the observer (nobody) must be able to write
    const scratch = join(dir, "nobody-tmp");
    mkdirSync(scratch);
    chownSync(scratch, 65534, 65534);
    const env = { ...process.env, TMPDIR: scratch };
    const out = execFileSync(process.execPath, ["--import", "tsx", script, join(closed, "inside"), sealed], { uid: 65534, gid: 65534, encoding: "utf8", cwd: process.cwd(), env });
    const [inside, content] = JSON.parse(out) as FileState[];
    expect(inside).toEqual({ status: "unreadable", path: join(closed, "inside"), code: "EACCES", reason: `permission denied reading ${join(closed, "inside")}` });
    expect(content).toMatchObject({ status: "present", type: "file", size: 6, mode: 0, hashSkipped: `permission denied reading ${sealed}` });
    expect(content).not.toHaveProperty("sha256");
  });

  it("hands back the content its digest is of, for a small file and only when asked", async () => {
    const f = join(dir, "small.conf");
    writeFileSync(f, "limit = 10\n");
    const kept = await readFileStateAndContent(f, { keepUpTo: 64 });
    expect(kept.state).toEqual(await readFileState(f));
    expect(kept.content?.toString()).toBe("limit = 10\n");
    expect((await readFileStateAndContent(f)).content).toBeUndefined();
    // larger than asked for: the state alone
    expect((await readFileStateAndContent(f, { keepUpTo: 10 })).content).toBeUndefined();
    // a keyed digest (nodiff) still says what it is of; no content for what is not a file
    const keyed = await readFileStateAndContent(f, { keepUpTo: 64, keyDigest: (d) => `k:${d}` });
    expect(keyed.state).toMatchObject({ sha256Keyed: true });
    expect((await readFileStateAndContent(dir, { keepUpTo: 1 << 20 })).content).toBeUndefined();
    const big = join(dir, "big.dat");
    writeFileSync(big, Buffer.alloc(100 * 1024, 7));
    // read in more than one piece: nothing handed back, whatever was asked
    expect((await readFileStateAndContent(big, { keepUpTo: 1 << 20 })).content).toBeUndefined();
  });

  it("hands back the bytes of a file just under 64 KiB and of an empty one, exactly, and none of one of 64 KiB (read in two pieces)", async () => {
    const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
    const files = [["under.dat", 65535, 1, true], ["at.dat", 65536, 2, false], ["empty.dat", 0, 0, true], ["small.dat", 3, 4, true]] as const;
    const read: Awaited<ReturnType<typeof readFileStateAndContent>>[] = [];
    for (const [name, size, fill] of files) {
      writeFileSync(join(dir, name), Buffer.alloc(size, fill));
      read.push(await readFileStateAndContent(join(dir, name), { keepUpTo: 65536 }));
    }
    // checked after every file was read: the bytes handed back are no view of the buffer the next file is read into
    files.forEach(([name, size, fill, kept], i) => {
      const bytes = Buffer.alloc(size, fill);
      expect(read[i]!.state, name).toMatchObject({ status: "present", size, sha256: sha(bytes) });
      if (kept) expect(read[i]!.content?.equals(bytes), name).toBe(true);
      else expect(read[i]!.content, name).toBeUndefined();
    });
  });
});
