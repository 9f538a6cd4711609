// The config-files probe: globs as glob(3) sorts them, missing and unreadable files, identities
// and digests of what was read.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { defaultFormatOptions } from "../../src/config-formats/index.ts";
import { expandConfigGlob, MAX_CONFIG_BYTES, readConfig } from "../../src/probes/config-files.ts";
import { identityOfPath } from "../../src/probes/file-identity.ts";
import { readBytesAtMost } from "../../src/probes/result.ts";

const fixture = "test/fixtures/roots/config-cis";
const under = (root: string) => (p: string) => join(root, p);

describe("config-files probe", () => {
  it("expands globs component by component, sorted, without dot files", () => {
    const root = mkdtempSync(join(tmpdir(), "cvt-cfg-"));
    mkdirSync(join(root, "etc/apt/apt.conf.d"), { recursive: true });
    for (const n of ["99z", "01a", ".hidden", "50b"]) writeFileSync(join(root, "etc/apt/apt.conf.d", n), "");
    expect(expandConfigGlob("/etc/apt/apt.conf.d/*", under(root))).toEqual(["/etc/apt/apt.conf.d/01a", "/etc/apt/apt.conf.d/50b", "/etc/apt/apt.conf.d/99z"]);
    expect(expandConfigGlob("/etc/*/apt.conf.d/[0-5]?[ab]", under(root))).toEqual(["/etc/apt/apt.conf.d/01a", "/etc/apt/apt.conf.d/50b"]);
    expect(expandConfigGlob("/etc/none.d/*", under(root))).toEqual([]);
    expect(expandConfigGlob("/etc/plain", under(root))).toEqual(["/etc/plain"]);
  });

  it("expands as the shell does", () => {
    const root = join(process.cwd(), fixture);
    const shell = execFileSync("/bin/sh", ["-c", `cd "${root}" && printf '%s\\n' etc/profile.d/*.sh etc/ssh/sshd_config.d/*`], { encoding: "utf8" }).trim().split("\n");
    expect([...expandConfigGlob("/etc/profile.d/*.sh", under(root)), ...expandConfigGlob("/etc/ssh/sshd_config.d/*", under(root))]).toEqual(shell.map((p) => `/${p}`));
  });

  it("keeps the identity and digest of each file read, and reads a missing file as setting nothing", () => {
    const r = readConfig("/etc/login.defs", "login_defs", defaultFormatOptions, under(fixture));
    if ("error" in r) throw new Error(r.error);
    const host = join(fixture, "etc/login.defs");
    expect(r.files[0]).toMatchObject({ identity: identityOfPath(host), digest: createHash("sha256").update(readFileSync(host)).digest("hex"), notUtf8: false, link: false });
    expect(r.settings.filter((s) => s.key === "PASS_MIN_DAYS").map((s) => [s.line, s.value])).toEqual([
      [5, "0"],
      [9, "1"],
    ]);
    expect(readConfig("/etc/nothing", "sshd", defaultFormatOptions, under(fixture))).toMatchObject({ exists: false, settings: [] });
  });

  it("marks a file that is not UTF-8, so that it is never edited", () => {
    const root = mkdtempSync(join(tmpdir(), "cvt-cfg-"));
    writeFileSync(join(root, "f"), Buffer.from([0x41, 0x3d, 0xff, 0x0a]));
    expect(readConfig("/f", "key_value", defaultFormatOptions, under(root))).toMatchObject({ files: [{ notUtf8: true }] });
  });

  it("is an error for a named path that is not a regular file", () => {
    expect(readConfig("/etc/ssh", "sshd", defaultFormatOptions, under(fixture))).toEqual({ error: "/etc/ssh is not a regular file" });
  });

  it("is an error for a named file larger than 4 MiB, and skips such an included file", () => {
    const root = mkdtempSync(join(tmpdir(), "cvt-cfg-"));
    const line = "Port 22\n";
    const fill = (bytes: number) => line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes);
    writeFileSync(join(root, "big"), fill(MAX_CONFIG_BYTES + 1));
    expect(readConfig("/big", "sshd", defaultFormatOptions, under(root))).toEqual({ error: `/big is ${MAX_CONFIG_BYTES + 1} bytes, more than ${MAX_CONFIG_BYTES} bytes (4 MiB): it is not read` });
    // at the limit, it is read
    writeFileSync(join(root, "limit"), fill(MAX_CONFIG_BYTES - 1) + "\n");
    const atLimit = readConfig("/limit", "sshd", defaultFormatOptions, under(root));
    expect("files" in atLimit && atLimit.files[0]!.text.length).toBe(MAX_CONFIG_BYTES);
    // an included one is skipped with the reason, the including file read
    writeFileSync(join(root, "main"), "Include /big\nPort 2222\n");
    const main = readConfig("/main", "sshd", defaultFormatOptions, under(root));
    expect(main).toMatchObject({ exists: true, settings: [{ key: "port", value: "2222" }], skipped: [{ path: "/big", reason: expect.stringContaining("more than 4194304 bytes") }] });
  });

  it("reads at most one byte past the limit where fstat does not tell the size", () => {
    // /proc files say 0 bytes: the reading itself stops one byte past the limit
    const status = readFileSync("/proc/self/status");
    expect(readBytesAtMost("/proc/self/status", 16)).toEqual({ tooBig: 17 });
    expect(readBytesAtMost("/proc/self/status", 1 << 20)).toMatchObject({ bytes: expect.any(Buffer) });
    expect(status.length).toBeGreaterThan(17);
  });
});
