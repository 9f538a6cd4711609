// The SOX ITGC library in policies/, control by control: on the compliant fixture hosts every
// control is kept, and each failing variant in policies/fixtures/fail/ fails its own control and
// leaves every other control as its compliant host has it. The fixtures are in the sandbox's
// format (docs/sandbox.md), run by the real CLI in a sandbox of their own.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkPaths } from "../src/checker/check.ts";
import { covenant, ensureBuilt } from "./helpers/cli.ts";

const LIBRARY = "policies/sox-itgc";
const FIXTURES = "policies/fixtures";
const FAIL = join(FIXTURES, "fail");

/**
 * Controls whose failure is a change after approval (integrity): their variant is applied to a
 * sandbox made from its compliant host after a first run has approved what was there.
 */
const AFTER_APPROVAL = new Set(["SOX-CM-02"]);

/**
 * Failures that are, by their nature, more than one control's: a second root (uid 0, a shell)
 * is also a duplicate uid and a system account that can log in.
 */
const ALSO_FAILS: Record<string, string[]> = { "SOX-AC-01.json": ["SOX-AC-03", "SOX-AC-04"] };

/**
 * What must be found for the variants that each try one way past a control (a drop-in, a PAM
 * argument, a spelling apt or journald also reads): a text of the reason of a promise found not
 * kept, so that the variant is caught by the promise meant to catch it, not by another.
 */
const CAUGHT_BY: Record<string, string> = {
  "SOX-AC-02.rhel-password.json": "/etc/pam.d/system-auth:12 sets nullok",
  "SOX-AC-05.root.json": "root: no password maximum age is set",
  "SOX-AC-07.dropin.json": "/etc/security/pwquality.conf.d/50-legacy.conf:1: minlen is \"6\"",
  "SOX-AC-07.pamarg.json": "/etc/pam.d/common-password:2: minlen is \"8\"",
  "SOX-AC-07.optional.json": "pam_pwquality.so is \"optional\"",
  "SOX-AC-07.rhel-password-auth.json": "password pam_pwquality.so is set by no line of /etc/pam.d/password-auth",
  "SOX-AC-08.pamarg.json": "/etc/pam.d/common-auth:2: deny is \"100\"",
  "SOX-AC-10.json": "/etc/ssh/sshd_config.d/50-cloud-init.conf",
  "SOX-AC-12.rhel.json": "group is root, promised ssh_keys",
  "SOX-AC-14.trust.json": "sets trust, promised absent",
  "SOX-CM-03.binary.json": "Binary::apt-get::Acquire::AllowInsecureRepositories is \"true\"",
  "SOX-CM-03.nested.json": "APT::Get::AllowUnauthenticated is \"on\"",
  "SOX-CM-03.case.json": "acquire::allowinsecurerepositories is \"Enable\"",
  "SOX-CM-03.aptconf.json": "/etc/apt/apt.conf:1: Acquire::AllowDowngradeToInsecureRepositories",
  "SOX-CM-03.deb822.json": "/etc/apt/sources.list.d/internal.sources holds",
  "SOX-OP-04.case.json": "Compress is \"N\"",
  "SOX-OP-04.vendor.json": "/usr/lib/systemd/journald.conf.d/60-vendor.conf:2: Compress",
  "SOX-OP-07.json": "no job matching",
  "SOX-OP-07.cleanup.json": "no job matching",
  "SOX-HD-04.ipv6.json": "net.ipv6.conf.all.forwarding is \"1\"",
  "SOX-HD-04.persistent.json": "/etc/sysctl.d/99-containers.conf",
  "SOX-HD-07.limitsd.json": "/etc/security/limits.d/90-core.conf holds",
  "SOX-HD-07.rhel-dropin.json": "/etc/systemd/coredump.conf.d/50-keep.conf:2: Storage is \"external\"",
};

/** Found not as promised: reported (drift), or repaired where the library allows a repair (kernel modules). */
const found = (p: PromiseReport) => p.outcome === "drift" || p.outcome === "repaired";

interface PromiseReport {
  key: string;
  outcome: string;
  reason: string;
}
interface ControlReport {
  id: string;
  promises: PromiseReport[];
}

let scratch: string;
beforeAll(() => {
  ensureBuilt();
  scratch = mkdtempSync(join(tmpdir(), "covenant-policies-"));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let sandboxes = 0;
function freshSandbox(): string {
  return join(scratch, `sandbox-${++sandboxes}`);
}

/** The library run in the sandbox at `dir` (made from `manifest` on first use): each control's promises. */
function runLibrary(dir: string, manifest: string): Map<string, ControlReport> {
  const r = covenant(["run", "--sandbox", "--sandbox-dir", dir, "--sandbox-manifest", manifest, "--json", LIBRARY]);
  expect([0, 1], `${manifest}: exit ${r.code}\n${r.err}`).toContain(r.code);
  const report = JSON.parse(r.out) as { controls: ControlReport[] };
  return new Map(report.controls.map((c) => [c.id, c]));
}

/** What went wrong with a control, for messages: its promises that were not kept or skipped. */
function problems(c: ControlReport | undefined): string[] {
  return (c?.promises ?? []).filter((p) => p.outcome !== "kept" && p.outcome !== "skipped").map((p) => `${p.key}: ${p.outcome}: ${p.reason}`);
}

const libraryControls = (): string[] => {
  const checked = checkPaths([LIBRARY]);
  return checked.policy!.controls.map((c) => c.id);
};

const hosts = ["debian-12.json", "rhel-9.json"];
const variants = readdirSync(FAIL)
  .filter((f) => f.endsWith(".json"))
  .sort();
/** `SOX-AC-08.rhel.json` fails SOX-AC-08. */
const controlOf = (variant: string) => basename(variant, ".json").split(".")[0]!;
const baseOf = (variant: string): string => {
  const manifest = JSON.parse(readFileSync(join(FAIL, variant), "utf8")) as { extends?: string };
  if (!manifest.extends) throw new Error(`${variant} does not extend a compliant host`);
  return join(dirname(join(FAIL, variant)), manifest.extends);
};

describe("the SOX ITGC library", () => {
  it("checks clean, is formatted, and uses only native promise types", () => {
    const checked = checkPaths(["policies"]);
    // W301 (no covenant.yaml on this machine) is about the host, not the library
    expect(checked.diagnostics.filter((d) => d.code !== "W301").map((d) => `${d.code} ${d.message}`)).toEqual([]);
    const types = new Set(checked.policy!.controls.flatMap((c) => c.promises.map((p) => p.type)));
    expect(types.has("command")).toBe(false);
    for (const c of checked.policy!.controls) {
      expect(c.refs.some((r) => r.startsWith("SOX ")), `${c.id} refs SOX`).toBe(true);
      expect(c.refs.some((r) => r.startsWith("COBIT ") || r.startsWith("COSO ")), `${c.id} refs COBIT or COSO`).toBe(true);
      expect(c.owner, `${c.id} has an owner`).toBeDefined();
      expect(c.description, `${c.id} has a description`).toBeDefined();
    }
    const fmt = covenant(["fmt", "--check", "policies"]);
    expect(fmt.out + fmt.err).toBe("");
    expect(fmt.code).toBe(0);
  });

  it("has a failing fixture for every control, and none for a control it does not have", () => {
    const controls = libraryControls();
    const covered = new Set(variants.map(controlOf));
    expect(controls.filter((c) => !covered.has(c))).toEqual([]);
    expect([...covered].filter((c) => !controls.includes(c))).toEqual([]);
  });

  describe.each(hosts)("on the compliant host %s", (host) => {
    it("keeps every control (promises of the other family skipped)", () => {
      const results = runLibrary(freshSandbox(), join(FIXTURES, host));
      expect([...results.keys()].sort()).toEqual(libraryControls().sort());
      for (const [id, c] of results) {
        expect(problems(c), id).toEqual([]);
        expect(c.promises.some((p) => p.outcome === "kept"), `${id} is judged on ${host}, not only skipped`).toBe(true);
      }
    });
  });

  describe.each(variants)("the failing variant %s", (variant) => {
    it("fails its control (drift, or repaired where the library repairs) and no other", () => {
      const control = controlOf(variant);
      let results: Map<string, ControlReport>;
      if (AFTER_APPROVAL.has(control)) {
        const dir = freshSandbox();
        runLibrary(dir, baseOf(variant));
        const manifest = JSON.parse(readFileSync(join(FAIL, variant), "utf8")) as { files?: { path: string; content: string }[] };
        for (const f of manifest.files ?? []) writeFileSync(join(dir, "root", f.path), f.content);
        results = runLibrary(dir, baseOf(variant));
      } else {
        results = runLibrary(freshSandbox(), join(FAIL, variant));
      }
      const own = results.get(control)!;
      expect(own.promises.some(found), `${control} is found not kept:\n${problems(own).join("\n")}`).toBe(true);
      expect(own.promises.filter((p) => p.outcome === "error").map((p) => `${p.key}: ${p.reason}`)).toEqual([]);
      const caughtBy = CAUGHT_BY[variant];
      if (caughtBy !== undefined) expect(own.promises.filter(found).map((p) => p.reason).join("\n")).toContain(caughtBy);
      const also = ALSO_FAILS[variant] ?? [];
      for (const id of also) expect(results.get(id)!.promises.some(found), `${variant} also fails ${id}`).toBe(true);
      for (const [id, c] of results) if (id !== control && !also.includes(id)) expect(problems(c), `${variant} leaves ${id} kept`).toEqual([]);
    });
  });
});
