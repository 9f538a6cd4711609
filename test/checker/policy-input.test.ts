// What a policy may read: only regular .promise files below its directories (or --include's),
// bounded in size, in UTF-8. Real files, links, FIFOs, sockets and devices; no mocks.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { checkPaths } from "../../src/checker/check.ts";
import { displayPath } from "../../src/checker/load.ts";
import { firstInvalidUtf8, readPolicyFile } from "../../src/checker/policy-file.ts";
import { isUtf8 } from "node:buffer";

const made: string[] = [];
const temp = () => {
  const dir = mkdtempSync(join(tmpdir(), "covenant-input-"));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
const control = (id: string) => `control "${id}" {\n  title = "t"\n  owner = ops\n  load { max_1m = 1 }\n}\n`;
/** a control and the stakeholder it names, for files whose imports are refused */
const policy = (id: string) => `stakeholder ops\n${control(id)}`;
const codes = (r: ReturnType<typeof checkPaths>) => r.diagnostics.map((d) => d.code);
const mkfifo = (path: string) => expect(spawnSync("mkfifo", [path]).status).toBe(0);

describe("the file read is the one resolved", () => {
  it("a directory on a resolved path that has since become a link is refused: the file it leads to is not read", () => {
    // what a swap of a directory for a link between resolution (and confinement) and the read
    // leaves: the path resolved, and judged inside the policy's directories, now leads elsewhere
    const dir = temp();
    const secret = join(dir, "secret");
    mkdirSync(secret);
    writeFileSync(join(secret, "lib.promise"), "SECRET-CONTENT-42\n");
    const policies = join(dir, "policies");
    mkdirSync(policies);
    symlinkSync(secret, join(policies, "lib"));
    const r = readPolicyFile(join(policies, "lib", "lib.promise"), 1 << 20);
    expect(r).toEqual({ ok: false, code: "E006", problem: "was reached through a link that took the place of a directory on its path while it was read" });
    // the same file by its real path is read
    expect(readPolicyFile(join(secret, "lib.promise"), 1 << 20)).toMatchObject({ ok: true, text: "SECRET-CONTENT-42\n" });
  });
});

describe("imports stay below the policy's directories", () => {
  it("refuses a file outside them before opening it, and never shows its content", () => {
    const dir = temp();
    // a file outside every policy directory, named like policy, whose content must not leak
    const outside = temp();
    writeFileSync(join(outside, "secret.promise"), "SECRET_TOKEN=hunter2-do-not-print\n");
    writeFileSync(join(dir, "main.promise"), `import "${join(outside, "secret.promise")}"\nstakeholder ops\n${control("A")}`);
    const r = checkPaths([join(dir, "main.promise")]);
    expect(codes(r)).toEqual(["E120"]);
    expect(r.diagnostics[0]!.span).toEqual({ file: displayPath(join(dir, "main.promise")), start: 7, end: 7 + join(outside, "secret.promise").length + 2 });
    expect(r.diagnostics[0]!.message).toBe(`cannot import \`${join(outside, "secret.promise")}\`: it is outside the policy's directories (\`${displayPath(dir)}\`)`);
    expect(r.files.map((f) => f.text).join("")).not.toContain("hunter2");
  });

  it("refuses a link in a policy directory that leads out of it, imported or found", () => {
    const dir = temp();
    const outside = temp();
    writeFileSync(join(outside, "lib.promise"), "stakeholder ops\n");
    symlinkSync(join(outside, "lib.promise"), join(dir, "lib.promise"));
    writeFileSync(join(dir, "main.promise"), `import "lib.promise"\n${policy("A")}`);
    const imported = checkPaths([join(dir, "main.promise")]);
    expect(codes(imported)).toEqual(["E120"]);
    expect(imported.diagnostics[0]!.message).toContain(`it leads to \`${join(outside, "lib.promise")}\`, which is outside the policy's directories`);
    // the directory itself: the link is found there, and refused as well
    const found = checkPaths([dir]);
    expect(codes(found)).toContain("E120");
    expect(found.files.map((f) => f.path)).toEqual([displayPath(join(dir, "main.promise"))]);
  });

  it("follows a link that stays inside the policy's directories", () => {
    const dir = temp();
    mkdirSync(join(dir, "lib"));
    writeFileSync(join(dir, "lib/common.promise"), "stakeholder ops\n");
    symlinkSync("lib/common.promise", join(dir, "common.promise"));
    writeFileSync(join(dir, "main.promise"), `import "common.promise"\n${control("A")}`);
    expect(codes(checkPaths([join(dir, "main.promise")], { today: "2026-12-05" }))).toEqual([]);
  });

  it("imports a library outside them once its directory is given with --include", () => {
    const dir = temp();
    const library = temp();
    writeFileSync(join(library, "controls.promise"), "stakeholder ops\n");
    writeFileSync(join(dir, "main.promise"), `import "${join(library, "controls.promise")}"\n${control("A")}`);
    expect(codes(checkPaths([join(dir, "main.promise")]))).toEqual(["E120"]);
    const r = checkPaths([join(dir, "main.promise")], { include: [library], today: "2026-12-05" });
    expect(r.diagnostics).toEqual([]);
    expect(r.files.length).toBe(2);
  });

  it("an --include that is not a directory is an error", () => {
    const dir = temp();
    writeFileSync(join(dir, "main.promise"), policy("A"));
    const r = checkPaths([join(dir, "main.promise")], { include: [join(dir, "nope")] });
    expect(r.diagnostics.map((d) => [d.code, d.message])).toEqual([["E006", `cannot read \`${join(dir, "nope")}\` (--include): no such file or directory`]]);
  });

  it("refuses a file not named .promise, even inside them", () => {
    const dir = temp();
    writeFileSync(join(dir, "notes.txt"), "stakeholder ops\n");
    writeFileSync(join(dir, "main.promise"), `import "notes.txt"\n${policy("A")}`);
    const r = checkPaths([join(dir, "main.promise")]);
    expect(r.diagnostics.map((d) => [d.code, d.message])).toEqual([["E121", "cannot import `notes.txt`: it is not a .promise file"]]);
  });

  it("an import of /proc/self/environ or /dev/zero is refused at the import", () => {
    const dir = temp();
    writeFileSync(join(dir, "main.promise"), `import "/proc/self/environ"\nimport "/dev/zero"\n${policy("A")}`);
    const r = checkPaths([join(dir, "main.promise")]);
    expect(codes(r)).toEqual(["E120", "E120"]);
    expect(r.diagnostics.map((d) => d.span.start)).toEqual([7, 35]);
  });
});

describe("only regular files of bounded size are read", () => {
  let server: Server | undefined;
  afterAll(() => server?.close());

  it("a FIFO in a policy directory is an error, not a wait for a writer", () => {
    const dir = temp();
    writeFileSync(join(dir, "main.promise"), control("A"));
    mkfifo(join(dir, "pipe.promise"));
    const r = checkPaths([dir]);
    expect(r.diagnostics.map((d) => [d.code, d.span.file, d.message])).toContainEqual(["E009", displayPath(join(dir, "pipe.promise")), `\`${join(dir, "pipe.promise")}\` is a FIFO, not a regular file`]);
    // named on the command line, whatever its name
    mkfifo(join(dir, "named-pipe"));
    expect(codes(checkPaths([join(dir, "named-pipe")]))).toEqual(["E009"]);
  }, 10_000);

  it("a FIFO imported is an error at the import", () => {
    const dir = temp();
    mkfifo(join(dir, "lib.promise"));
    writeFileSync(join(dir, "main.promise"), `import "lib.promise"\n${policy("A")}`);
    const r = checkPaths([join(dir, "main.promise")]);
    expect(r.diagnostics.map((d) => [d.code, d.message, d.span.start])).toEqual([["E009", "cannot import `lib.promise`: it is a FIFO, not a regular file", 7]]);
  }, 10_000);

  it("a socket in a policy directory, and a device named on the command line, are errors", async () => {
    const dir = temp();
    server = createServer();
    await new Promise<void>((done) => server!.listen(join(dir, "sock.promise"), done));
    expect(checkPaths([dir]).diagnostics.map((d) => [d.code, d.message])).toContainEqual(["E009", `\`${join(dir, "sock.promise")}\` is a socket, not a regular file`]);
    expect(checkPaths(["/dev/zero"]).diagnostics.map((d) => [d.code, d.message])).toEqual([["E009", "`/dev/zero` is a device, not a regular file"]]);
  }, 10_000);

  it("a file larger than the limit is refused without being read: 16 MiB by default, or --max-file-size", () => {
    const dir = temp();
    const big = join(dir, "big.promise");
    writeFileSync(big, "");
    truncateSync(big, 16 * 1024 * 1024 + 1); // sparse: nothing is written, and nothing must be read
    const r = checkPaths([big]);
    expect(r.diagnostics.map((d) => [d.code, d.message])).toEqual([["E008", `\`${big}\` is 16777217 bytes, more than the 16 MiB a policy file may be`]]);
    expect(r.diagnostics[0]!.suggestion).toBe("raise the limit with `--max-file-size`, or split the file");
    const small = join(dir, "small.promise");
    writeFileSync(small, `stakeholder ops\n${control("A")}`);
    expect(codes(checkPaths([small], { maxFileSize: 20 }))).toEqual(["E008"]);
    expect(codes(checkPaths([small], { maxFileSize: 4096, today: "2026-12-05" }))).toEqual([]);
  });
});

describe("policy files are UTF-8", () => {
  it("a byte that is not UTF-8 is an error at its line and column, not a silent U+FFFD", () => {
    const dir = temp();
    const file = join(dir, "latin1.promise");
    // `café` written in Latin-1: 0xe9 begins no UTF-8 character followed by `"`
    writeFileSync(file, Buffer.concat([Buffer.from(`stakeholder ops\ncontrol "A" {\n  title = "caf`), Buffer.from([0xe9]), Buffer.from(`"\n  load { max_1m = 1 }\n}\n`)]));
    const r = checkPaths([file]);
    expect(codes(r)).toEqual(["E007"]);
    const d = r.diagnostics[0]!;
    expect(d.message).toBe("file is not UTF-8: the bytes from 0xe9 here do not form a UTF-8 character (convert the file, e.g. with iconv -t UTF-8)");
    // 3:15 is the byte after `caf`: what precedes it is the file's text as far as it can be read
    const text = r.files.find((f) => f.path === d.span.file)!.text;
    expect(text).toBe('stakeholder ops\ncontrol "A" {\n  title = "caf');
    expect(d.span.start).toBe(text.length);
    expect(r.files.map((f) => f.text).join("")).not.toContain("\ufffd");
  });

  it("an imported file's bad byte is reported in that file, once however often it is imported", () => {
    const dir = temp();
    writeFileSync(join(dir, "lib.promise"), Buffer.from([0x73, 0x74, 0x0a, 0xc3, 0x28]));
    writeFileSync(join(dir, "main.promise"), `import "lib.promise"\n${control("A")}`);
    writeFileSync(join(dir, "other.promise"), 'import "lib.promise"\n');
    const r = checkPaths([join(dir, "main.promise"), join(dir, "other.promise")]);
    const bad = r.diagnostics.filter((x) => x.code === "E007");
    expect(bad.map((d) => [d.span.file, d.span.start])).toEqual([[displayPath(join(dir, "lib.promise")), 3]]);
  });

  it("finds the first byte that is not well-formed UTF-8 (RFC 3629) exactly where the runtime's validator fails", () => {
    const cases: [number[], number][] = [
      [[0x61, 0xc0, 0x80], 1], // overlong NUL
      [[0xe0, 0x80, 0x80], 0], // overlong 3-byte form
      [[0xed, 0xa0, 0x80], 0], // a UTF-16 surrogate
      [[0xf4, 0x90, 0x80, 0x80], 0], // above U+10FFFF
      [[0x61, 0x62, 0xe2, 0x82], 2], // cut short at the end
      [[0xf0, 0x9f, 0x98, 0x80, 0xff], 4], // an emoji, then a byte that is never UTF-8
      [[0xe2, 0x82, 0xac], -1], // €
    ];
    for (const [bytes, at] of cases) expect(firstInvalidUtf8(Uint8Array.from(bytes)), bytes.join(",")).toBe(at);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.string({ unit: "binary", maxLength: 16 }), (noise, text) => {
        const bytes = Buffer.concat([Buffer.from(text), noise]);
        const at = firstInvalidUtf8(bytes);
        expect(at === -1).toBe(isUtf8(bytes));
        if (at !== -1) {
          expect(isUtf8(bytes.subarray(0, at))).toBe(true);
          expect(at).toBeGreaterThanOrEqual(Buffer.from(text).length);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("the size limit", () => {
  it("accepts a file of exactly the limit and refuses one byte more, larger than the first buffer read", () => {
    const dir = temp();
    const text = `stakeholder ops\n${control("A")}# ${"x".repeat(9000)}\n`;
    writeFileSync(join(dir, "main.promise"), text);
    const size = Buffer.byteLength(text);
    const r = checkPaths([join(dir, "main.promise")], { maxFileSize: size, today: "2026-12-05" });
    expect(r.diagnostics).toEqual([]);
    expect(r.files[0]!.text).toBe(text);
    expect(codes(checkPaths([join(dir, "main.promise")], { maxFileSize: size - 1 }))).toEqual(["E008"]);
  });
});
