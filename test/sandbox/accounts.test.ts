// src/sandbox/accounts.ts: the `accounts` of a sandbox.json, judged by `account` promises in a
// sandbox run.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";

// A sandbox.json's `accounts`: the sandbox's passwd, shadow and login.defs hold them, so that a
// policy's account controls can be tried on fixtures that pass and fixtures that fail.
describe("account promises in a sandbox", () => {
  it("judges the accounts of sandbox.json, and holds their repairs", () => {
    ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), "cvt-account-sandbox-"));
    const policyDir = join(dir, "policy");
    mkdirSync(policyDir);
    writeFileSync(
      join(policyDir, "sandbox.json"),
      JSON.stringify({
        users: ["root", "daemon"],
        accounts: {
          root: { uid: 0, home: "/root" },
          toor: { uid: 0, shell: "/bin/sh" },
          alice: { uid: 1000, max_days: 90, min_days: 1, warn_days: 7 },
          bob: { uid: 1001, password: "empty", max_days: 99999 },
          olduser: { uid: 1002, password: "locked", expires: "2022-01-08" },
        },
      }),
    );
    writeFileSync(
      join(policyDir, "accounts.promise"),
      `stakeholder security { description = "the security team" }
control "ACC-1" {
  title = "local accounts"
  owner = security
  account "*" { uid0_only = ["root"] }
  account "*" { select = human empty_password = false max_days = 90 repair = [lock, aging] }
  account "olduser" { locked = true expired = true }
}
`,
    );
    const r = covenant(["run", "--json", "--sandbox-dir", join(dir, "sandbox"), policyDir]);
    const results = (JSON.parse(r.out) as { controls: { promises: { outcome: string; differences: { reason: string }[]; changes: { status: string }[] }[] }[] }).controls[0]!.promises;
    expect(results.map((p) => [p.outcome, p.differences.map((d) => d.reason)])).toEqual([
      ["drift", ["toor: has uid 0, which only root may have"]],
      ["drift", ["bob: the password field in /etc/shadow is empty: no password is needed to log in", "bob: password maximum age is 99999 days, promised at most 90", "olduser: no password maximum age is set, promised at most 90 days"]],
      ["kept", []],
    ]);
    expect(results[1]!.changes.map((c) => c.status)).toEqual(["held", "held", "held"]);
    expect(readFileSync(join(dir, "sandbox", "etc", "shadow"), "utf8")).toContain("bob::20000::99999::::\n");
  });

  it("refuses account fields that would forge lines of passwd", () => {
    const dir = mkdtempSync(join(tmpdir(), "cvt-account-sandbox-"));
    writeFileSync(join(dir, "sandbox.json"), JSON.stringify({ accounts: { eve: { shell: "/bin/sh\nroot2:x:0:0::/:/bin/sh", password: "none", max_days: -1 }, "bad:name": {} } }));
    writeFileSync(join(dir, "p.promise"), `control "A" {\n  title = "a"\n  account "*" { unique = true }\n}\n`);
    const r = covenant(["run", "--sandbox-dir", join(dir, "sandbox"), dir]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("accounts.eve.shell must be an absolute path without `:` or line breaks");
    expect(r.err).toContain('accounts.eve.password must be "hashed", "locked" or "empty"');
    expect(r.err).toContain("accounts.eve.max_days must be a number of days from 0 to 99999");
    expect(r.err).toContain("is not an account name");
  });
});

