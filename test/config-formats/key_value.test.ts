// key = value lines with a chosen separator and comment marker; sysctl.d's reading of them.
import { describe, expect, it } from "vitest";
import { parse } from "../../src/config-formats/key_value.ts";
import { parse as parseSysctl } from "../../src/config-formats/sysctl.ts";
import { parse as parseSysctlD } from "../../src/probes/sysctl-d.ts";
import { readFileSync } from "node:fs";

describe("key_value format", () => {
  it("splits at the separator, skips comment lines, and keeps values as written", () => {
    const p = parse('# c\nSHELL=/bin/sh\nA = "x y" \nnovalue\n// not a comment here\n', "/f", { separator: "=", comments: ["#"] });
    expect(p.settings.map((s) => [s.key, s.value])).toEqual([
      ["SHELL", "/bin/sh"],
      ["A", '"x y"'],
    ]);
    expect(p.skipped.map((s) => s.line)).toEqual([4, 5]);
    const blanks = parse('umask 027\n  umask\t 077\n// umask 000\nAPT::Get::X "true";\n', "/f", { separator: " ", comments: ["//"] });
    expect(blanks.settings.map((s) => [s.key, s.value])).toEqual([
      ["umask", "027"],
      ["umask", "077"],
      ["APT::Get::X", '"true";'],
    ]);
  });
});

describe("sysctl format", () => {
  it("reads keys and values as the sysctl-d probe does", () => {
    const text = readFileSync("test/fixtures/roots/config-cis/etc/sysctl.d/60-net.conf", "utf8");
    const ours = parseSysctl(text, "/f").settings.map((s) => [s.key, s.value, s.line]);
    expect(ours).toEqual(parseSysctlD(text, "/f").settings.map((s) => [s.key, s.value, s.line]));
    expect(ours).toEqual([
      ["net.ipv4.ip_forward", "1", 2],
      ["net.ipv4.conf.all.rp_filter", "1", 3],
      ["net.ipv4.ip_forward", "0", 5],
    ]);
  });
});
