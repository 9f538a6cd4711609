// pam.d lines: type, control, module, arguments; @include, include and substack.
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { removeSpans } from "../../src/config-formats/edit.ts";
import { defaultFormatOptions } from "../../src/config-formats/index.ts";
import { parse } from "../../src/config-formats/pam.ts";
import { readConfig } from "../../src/probes/config-files.ts";

describe("pam format", () => {
  it("keys a module's control and each argument, with bracketed controls and comments", () => {
    const p = parse("password [success=1 default=ignore] /lib/security/pam_unix.so obscure remember=5 # c\n-session optional pam_systemd.so\nbogus\n", "/etc/pam.d/x");
    expect(p.settings.map((s) => [s.key, s.value])).toEqual([
      ["password pam_unix.so", "[success=1 default=ignore]"],
      ["password pam_unix.so obscure", "true"],
      ["password pam_unix.so remember", "5"],
      ["session pam_systemd.so", "optional"],
    ]);
    expect(p.skipped).toEqual([expect.objectContaining({ line: 3 })]);
  });

  it("reads @include whole, and include/substack for their type only", () => {
    const r = readConfig("/etc/pam.d/sshd", "pam", defaultFormatOptions, (p) => join("test/fixtures/roots/config-cis", p));
    if ("error" in r) throw new Error(r.error);
    const keys = r.settings.filter((s) => !s.key.split(" ")[2]).map((s) => `${s.path.split("/").pop()} ${s.key}`);
    expect(keys).toEqual([
      "common-auth auth pam_unix.so",
      "common-auth auth pam_deny.so",
      "common-auth auth pam_permit.so",
      "sshd account pam_nologin.so",
      "sshd session pam_systemd.so",
      "common-password password pam_pwquality.so",
      "common-password password pam_unix.so",
      "common-password password pam_deny.so",
      "common-password password pam_permit.so",
    ]);
  });

  it("removes one argument and the blanks before it", () => {
    const text = "auth required pam_unix.so nullok  try_first_pass\n";
    const nullok = parse(text, "/f").settings.find((s) => s.key.endsWith(" nullok"))!;
    expect(removeSpans(text, [{ ...nullok.part!, line: 1 }])).toBe("auth required pam_unix.so  try_first_pass\n");
  });
});
