// The helper that installs the system tools the live cross-checks compare with: what it puts in
// place to keep services from starting, and what it leaves alone (on a policy-rc.d path of the
// test's own: the machine's is never touched here).
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ensureDebianTool, findProgram, withServicesHeld } from "./debian-package.ts";

const scratch = () => mkdtempSync(join(tmpdir(), "cvt-debpkg-"));

describe("withServicesHeld", () => {
  it("puts a policy-rc.d that refuses every start (exit 101, mode 0755) in place for the call, and removes it after", () => {
    const path = join(scratch(), "policy-rc.d");
    const during = withServicesHeld(() => {
      const st = statSync(path);
      return { mode: st.mode & 0o7777, text: readFileSync(path, "utf8"), status: spawnSync(path, ["ssh", "start"]).status };
    }, path);
    expect(during).toEqual({ mode: 0o755, text: "#!/bin/sh\nexit 101\n", status: 101 });
    expect(existsSync(path)).toBe(false);
  });

  it("removes it when the call throws too", () => {
    const path = join(scratch(), "policy-rc.d");
    expect(() =>
      withServicesHeld(() => {
        throw new Error("apt-get crashed");
      }, path),
    ).toThrow("apt-get crashed");
    expect(existsSync(path)).toBe(false);
  });

  it("leaves an existing policy-rc.d as it is, and a link there unfollowed", () => {
    const dir = scratch();
    const path = join(dir, "policy-rc.d");
    writeFileSync(path, "#!/bin/sh\nexit 0\n", { mode: 0o700 });
    expect(withServicesHeld(() => readFileSync(path, "utf8"), path)).toBe("#!/bin/sh\nexit 0\n");
    expect([readFileSync(path, "utf8"), statSync(path).mode & 0o7777]).toEqual(["#!/bin/sh\nexit 0\n", 0o700]);

    const link = join(dir, "linked-policy-rc.d");
    symlinkSync(join(dir, "target"), link);
    withServicesHeld(() => undefined, link);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(existsSync(join(dir, "target"))).toBe(false);
  });
});

describe("ensureDebianTool", () => {
  it("finds a program by path or on PATH, and has nothing to install when it is there", () => {
    expect(findProgram(process.execPath)).toBe(process.execPath);
    expect(findProgram("/nonexistent/covenant-tool")).toBeUndefined();
    const dir = scratch();
    writeFileSync(join(dir, "covenant-tool"), "#!/bin/sh\n", { mode: 0o755 });
    const path = process.env.PATH;
    try {
      process.env.PATH = `/nonexistent:${dir}`;
      expect(findProgram("covenant-tool")).toBe(join(dir, "covenant-tool"));
      // as `command -v`: a file that is not executable, or a directory, is not the program
      writeFileSync(join(dir, "covenant-data"), "", { mode: 0o644 });
      mkdirSync(join(dir, "covenant-dir"));
      expect([findProgram("covenant-data"), findProgram("covenant-dir")]).toEqual([undefined, undefined]);
      expect(ensureDebianTool("covenant-tool", "no-such-package")).toBeUndefined();
    } finally {
      process.env.PATH = path;
    }
  });

  it.skipIf(process.getuid?.() === 0)("says only root can install a missing tool (skipped as root: it would install)", () => {
    expect(ensureDebianTool("/nonexistent/covenant-tool", "covenant-tool")).toBe("/nonexistent/covenant-tool is missing and only root can install covenant-tool");
  });
});
