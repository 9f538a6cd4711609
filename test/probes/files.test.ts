import { execFileSync } from "node:child_process";
import { chmodSync, closeSync, ftruncateSync, lstatSync, mkdtempSync, openSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { relative as relativeTo, resolve } from "node:path";
import { fromBigIntStats, hash, modeText, resolvePath, stat, statWithChangeTime } from "../../src/probes/files.ts";
import { safeFs } from "../../src/native/safe-fs.ts";
import { identityOfPath } from "../../src/probes/file-identity.ts";

const dir = mkdtempSync(join(tmpdir(), "covenant-files-"));

describe("files probe", () => {
  it("reports type, mode, owner, size and link targets as stat(1) does", () => {
    const f = join(dir, "gl.dat");
    writeFileSync(f, "ledger");
    chmodSync(f, 0o640);
    symlinkSync(f, join(dir, "current"));
    const s = stat(f);
    if (!s.ok) throw new Error(s.error.message);
    const theirs = execFileSync("stat", ["-c", "%a %u %g %s %i %h", f], { encoding: "utf8" }).trim().split(" ").map(Number);
    expect([Number(modeText(s.value.mode)), s.value.uid, s.value.gid, s.value.size, s.value.inode, s.value.nlink]).toEqual(theirs);
    expect(modeText(s.value.mode)).toBe("0640");
    const l = stat(join(dir, "current"));
    expect(l.ok && [l.value.type, l.value.linkTarget]).toEqual(["symlink", f]);
    expect(stat(dir).ok && (stat(dir) as { value: { type: string } }).value.type).toBe("directory");
  });

  // the addon's statPath (one call for resolve, fstat and close) gives what Node's lstat gives
  it("reports what lstat reports for every type of file, times to the fraction of a millisecond", () => {
    expect(safeFs()?.statPath).toBeTypeOf("function");
    const fifo = join(dir, "queue");
    execFileSync("mkfifo", [fifo]);
    const sock = join(dir, "sock");
    execFileSync("python3", ["-c", `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(sock)})`]);
    const setuid = join(dir, "setuid.bin");
    writeFileSync(setuid, "x");
    chmodSync(setuid, 0o4755);
    const plain = join(dir, "types-plain.dat");
    writeFileSync(plain, "ledger");
    symlinkSync(plain, join(dir, "types-link"));
    const types: Record<string, string> = { [plain]: "file", [join(dir, "types-link")]: "symlink", [dir]: "directory", [fifo]: "fifo", [sock]: "socket", "/dev/null": "char-device", [setuid]: "file" };
    const loop = execFileSync("sh", ["-c", "ls /dev/loop* /dev/sda /dev/vda 2>/dev/null | head -1"], { encoding: "utf8" }).trim();
    if (loop && lstatSync(loop).isBlockDevice()) types[loop] = "block-device";
    // by openat2, and by the component walk kernels before 5.6 get
    for (const [path, type, walk] of [false, true].flatMap((byWalk) => Object.entries(types).map(([p, t]) => [p, t, byWalk] as const))) {
      safeFs()!.forceWalk(walk);
      const s = stat(path);
      if (!s.ok) throw new Error(s.error.message);
      const l = lstatSync(path);
      const { linkTarget, ...got } = s.value;
      expect(linkTarget).toBe(type === "symlink" ? readlinkSync(path) : undefined);
      expect(got).toEqual({ path, type, mode: l.mode & 0o7777, uid: l.uid, gid: l.gid, size: l.size, mtimeMs: l.mtimeMs, inode: l.ino, dev: l.dev, nlink: l.nlink });
      // without the addon: Node's lstat in bigint (for the exact inode number), made the same numbers
      expect(fromBigIntStats(path, lstatSync(path, { bigint: true }))).toEqual(got);
      const c = statWithChangeTime(path);
      if (type === "symlink") expect(c).toBeUndefined();
      else expect([c?.stat, c?.ctimeMs]).toEqual([s.value, l.ctimeMs]);
    }
    safeFs()!.forceWalk(false);
  });

  it("makes a time before 1970 from Node's bigint lstat as Node's lstat makes it (where the addon is missing)", () => {
    const f = join(dir, "old.dat");
    writeFileSync(f, "x");
    for (const when of ["1969-12-31 23:59:59.250000001", "1901-06-01 12:00:00.999999999", "2038-01-19 03:14:08.5"]) {
      execFileSync("touch", ["-h", "-d", when, f]);
      expect(fromBigIntStats(f, lstatSync(f, { bigint: true })).mtimeMs).toBe(lstatSync(f).mtimeMs);
    }
  });

  it("says why it cannot stat: a missing path, a path through a link (naming the link), an overlong path, a NUL byte; a relative one is resolved", () => {
    const missing = stat(join(dir, "nothing-here"));
    expect(!missing.ok && missing.error.code).toBe("not-found");
    writeFileSync(join(dir, "behind.dat"), "x");
    symlinkSync(dir, join(dir, "via"));
    const through = stat(join(dir, "via", "behind.dat"));
    expect(!through.ok && through.error.message).toContain(join(dir, "via"));
    expect(statWithChangeTime(join(dir, "via", "behind.dat"))).toBeUndefined();
    // said as the kernel says it, not as a misuse of the native helper
    const long = stat(`/${"a".repeat(5000)}`);
    expect(!long.ok && long.error.message).toMatch(/a path longer than PATH_MAX: File name too long$/);
    const nul = stat(join(dir, "behind.dat\u0000x"));
    expect(!nul.ok && nul.error.message).toMatch(/a path holding a NUL byte: Invalid argument$/);
    const relative = stat(join(relativeTo(process.cwd(), dir), "behind.dat"));
    expect(relative.ok && relative.value.inode).toBe(lstatSync(join(dir, "behind.dat")).ino);
  });

  it("hashes content in chunks, agreeing with sha256sum and sha512sum on a file larger than one chunk", async () => {
    const f = join(dir, "big.dat");
    const block = Buffer.alloc(1 << 20, 7);
    writeFileSync(f, Buffer.concat([block, block, Buffer.from("tail")]));
    for (const alg of ["sha256", "sha512"] as const) {
      const r = await hash(f, alg);
      if (!r.ok) throw new Error(r.error.message);
      expect(r.value.bytes).toBe((2 << 20) + 4);
      expect(r.value.digest).toBe(execFileSync(`${alg}sum`, [f], { encoding: "utf8" }).split(" ")[0]);
    }
  });

  it("agrees with sha256sum on either side of the size read at once (64 KiB) and of a chunk (1 MiB)", async () => {
    const sizes = [0, 1, 4095, 65535, 65536, 65537, (1 << 20) - 1, 1 << 20, (1 << 20) + 1];
    for (const size of sizes) {
      const f = join(dir, `size-${size}.dat`);
      // a different byte at every position: a block read twice or skipped changes the digest
      writeFileSync(f, Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + (i >> 8)) & 0xff)));
      const r = await hash(f, "sha256");
      if (!r.ok) throw new Error(r.error.message);
      expect([size, r.value.bytes, r.value.digest]).toEqual([size, size, execFileSync("sha256sum", [f], { encoding: "utf8" }).split(" ")[0]]);
    }
  });

  // the size read at once is trusted only when the read returns exactly the size stat gave
  it("agrees with sha256sum on files whose stat size is not their length: /proc (0, a page or more) and sysfs (4096, less)", async () => {
    for (const f of ["/proc/version", "/proc/filesystems", "/proc/kallsyms", "/sys/devices/system/cpu/online"]) {
      const r = await hash(f, "sha256");
      if (!r.ok) throw new Error(r.error.message);
      expect([f, r.value.bytes > 0, r.value.digest]).toEqual([f, true, execFileSync("sha256sum", [f], { encoding: "utf8", maxBuffer: 1 << 26 }).split(" ")[0]]);
    }
  });

  it("says why it cannot read, never an empty digest", async () => {
    expect(stat(join(dir, "missing"))).toMatchObject({ ok: false, error: { code: "not-found" } });
    expect(await hash(join(dir, "missing"), "sha256")).toMatchObject({ ok: false, error: { code: "not-found" } });
    expect(await hash(dir, "sha256")).toMatchObject({ ok: false, error: { code: "io", message: `${dir} is a directory, not a regular file: its content is not read` } });
  });

  it("refuses without blocking anything that is not a regular file: a FIFO, a device, a link", async () => {
    const fifo = join(dir, "pipe");
    execFileSync("mkfifo", [fifo]);
    expect(await hash(fifo, "sha256")).toMatchObject({ ok: false, error: { message: `${fifo} is a FIFO, not a regular file: its content is not read` } });
    expect(await hash("/dev/zero", "sha256")).toMatchObject({ ok: false, error: { message: "/dev/zero is a char-device, not a regular file: its content is not read" } });
    symlinkSync("/dev/zero", join(dir, "zero-link"));
    expect(await hash(join(dir, "zero-link"), "sha256")).toMatchObject({ ok: false, error: { message: `${join(dir, "zero-link")} is a symbolic link: its content is not read` } });
  });

  it("refuses a file that is not the one observed, and one larger than the cap, without reading it", async () => {
    const f = join(dir, "gl.dat");
    writeFileSync(f, "0123456789");
    expect(await hash(f, "sha256", { expect: identityOfPath(join(dir, "current")) })).toMatchObject({ ok: false, error: { message: expect.stringContaining("changed while being observed") } });
    expect(await hash(f, "sha256", { maxBytes: 9 })).toMatchObject({ ok: false, error: { message: `${f} is 10 bytes, more than max_hash_size 9 bytes: its content was not hashed` } });
    expect((await hash(f, "sha256", { maxBytes: 10 })).ok).toBe(true);
  });

  it("stops reading a large file as soon as its signal is aborted", async () => {
    const f = join(dir, "sparse.dat");
    const fd = openSync(f, "w");
    ftruncateSync(fd, 8 * 2 ** 30); // 8 GiB of holes: reading it all would take seconds
    closeSync(fd);
    const abort = new AbortController();
    const started = Date.now();
    setTimeout(() => abort.abort(), 100);
    const r = await hash(f, "sha256", { signal: abort.signal });
    expect(r).toMatchObject({ ok: false, error: { message: expect.stringMatching(/^stopped hashing .* the timeout expired$/) } });
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe("resolvePath: path.resolve without its cost for a normal absolute path", () => {
  it("equals path.resolve for any path of `/`, `.`, `..` and names", () => {
    const part = fc.constantFrom("/", ".", "..", "a", "bc", "/.", "./", "\u00e9", " ", "\n", "\r", "\u2028", "\u2029");
    fc.assert(
      fc.property(fc.array(part, { maxLength: 12 }), fc.boolean(), (parts, absolute) => {
        const p = (absolute ? "/" : "") + parts.join("");
        if (p === "") return;
        expect(resolvePath(p)).toBe(resolve(p));
      }),
      { numRuns: 3000 },
    );
  });

  it("drops a trailing `/` after a line terminator too", () => {
    for (const p of ["/tmp/x\n/", "/tmp/x\r/", "/tmp/x\u2028/", "/tmp/x\u2029/", "/\n/"]) expect(resolvePath(p)).toBe(resolve(p));
  });
});
