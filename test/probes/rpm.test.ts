// No rpm on these machines: a stand-in `rpm` prints fixture output (test/fixtures/packages/
// rhel9-rpm-qa.txt) and records its argv, so that the query and its parsing are tested; the
// real rpm database is never read here.
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { evr, parse, QUERY_FORMAT, read } from "../../src/probes/rpm.ts";

const dir = mkdtempSync(join(tmpdir(), "cvt-rpm-"));
const fixture = resolve("test/fixtures/packages/rhel9-rpm-qa.txt");
const rpm = join(dir, "rpm");
writeFileSync(rpm, `#!/bin/sh\nprintf '%s\\n' "$@" > '${dir}/argv'\ncat '${fixture}'\n`);
chmodSync(rpm, 0o755);
const failing = join(dir, "rpm-broken");
writeFileSync(failing, "#!/bin/sh\necho 'error: cannot open Packages database in /var/lib/rpm' >&2\nexit 1\n");
chmodSync(failing, 0o755);

describe("rpm", () => {
  it("parses rpm -qa output: epochs, several architectures, signing keys and broken lines skipped with reasons", () => {
    const { packages, skipped } = parse(readFileSync(fixture, "utf8"));
    expect(packages.map((p) => `${p.name}.${p.architecture} ${evr(p)}`)).toEqual([
      "audit.x86_64 3.0.7-104.el9",
      "bash.x86_64 5.1.8-6.el9_1",
      "glibc.i686 2.34-60.el9",
      "glibc.x86_64 2.34-60.el9",
      "openssh-server.x86_64 8.7p1-34.el9",
      "shadow-utils.x86_64 2:4.9-6.el9",
    ]);
    expect(skipped.map((s) => `${s.line}: ${s.reason}`)).toEqual(["6: an imported signing key (gpg-pubkey), not a package", "8: expected 5 tab-separated fields (name, epoch, version, release, arch), got 1", "9: `-rf` is not a package name"]);
  });

  it("runs rpm by argv with its own query format, under a root with --root", () => {
    const r = read("/", { rpm });
    expect(r.ok && r.value.packages.length).toBe(6);
    expect(readFileSync(join(dir, "argv"), "utf8")).toBe(`-qa\n--qf\n${QUERY_FORMAT}\n`);
    expect(read("/srv/chroot", { rpm }).ok).toBe(true);
    expect(readFileSync(join(dir, "argv"), "utf8")).toBe(`--root\n/srv/chroot\n-qa\n--qf\n${QUERY_FORMAT}\n`);
  });

  it("says the rpm database cannot be read where rpm is not installed, or fails", () => {
    expect(read("/", { rpm: join(dir, "missing") })).toMatchObject({ ok: false, error: { code: "unavailable", message: "rpm is not installed: the rpm database cannot be read" } });
    expect(read("/", { rpm: failing })).toMatchObject({ ok: false, error: { code: "io", message: "rpm -qa failed: error: cannot open Packages database in /var/lib/rpm" } });
  });

  it.skipIf(existsSync("/usr/bin/rpm") || existsSync("/bin/rpm"))("on this host (no rpm), says so rather than reporting no packages", () => {
    expect(read("/")).toMatchObject({ ok: false, error: { code: "unavailable" } });
  });
});

describe("a sandbox's recorded answer (answers/rpm-qa)", () => {
  it("is read and parsed instead of running rpm, and a line the sandbox writes is what rpm would print", async () => {
    const { rpmQaLine } = await import("../../src/sandbox/host.ts");
    const answers = mkdtempSync(join(tmpdir(), "cvt-rpm-answers-"));
    writeFileSync(join(answers, "rpm-qa"), rpmQaLine("openssh-server", { version: "8.7p1-38.el9", status: "installed" }) + rpmQaLine("shim-x64", { version: "15.8-3", architecture: "x86_64", status: "installed" }) + rpmQaLine("kernel", { version: "1:5.14.0-427.el9", status: "installed" }));
    const r = read("/", { rpm: "/nonexistent/rpm", answers });
    expect(r).toEqual({
      ok: true,
      skipped: [],
      value: {
        packages: [
          { name: "kernel", epoch: 1, version: "5.14.0", release: "427.el9", architecture: "x86_64" },
          { name: "openssh-server", version: "8.7p1", release: "38.el9", architecture: "x86_64" },
          { name: "shim-x64", version: "15.8", release: "3", architecture: "x86_64" },
        ],
      },
    });
    expect(read("/", { answers: join(answers, "none") })).toMatchObject({ ok: false, error: { code: "not-found" } });
  });
});
