import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { mountOf, parse, read, unescapeOctal } from "../../src/probes/mountinfo.ts";

describe("mountinfo probe", () => {
  it("parses optional fields, escapes and super options", () => {
    const line = "36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime,nosuid master:1 shared:7 - ext3 /dev/root rw,errors=continue";
    const { mounts, skipped } = parse(`${line}\nbroken line\n`);
    expect(mounts).toEqual([
      { id: 36, parentId: 35, major: 98, minor: 0, root: "/mnt1", mountPoint: "/mnt/with space", options: ["rw", "noatime", "nosuid"], fsType: "ext3", source: "/dev/root", superOptions: ["rw", "errors=continue"] },
    ]);
    expect(skipped.map((s) => s.line)).toEqual([2]);
    expect(unescapeOctal("a\\011b\\134c")).toBe("a\tb\\c");
  });
  it("finds the mount a path is on", () => {
    const r = read({ proc: "test/fixtures/proc/debian12-vm" });
    if (!r.ok) throw new Error(r.error.message);
    expect(mountOf(r.value, "/proc/self")?.fsType).toBe("proc");
    expect(mountOf(r.value, "/")?.mountPoint).toBe("/");
  });
  it("lists the same mount points as findmnt on the live host", () => {
    const r = read({ proc: "/proc" });
    if (!r.ok) throw new Error(r.error.message);
    const theirs = execFileSync("findmnt", ["-rn", "-o", "TARGET"], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map((t) => t.replace(/\\x([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))));
    expect(r.value.map((m) => m.mountPoint).sort()).toEqual(theirs.sort());
  });
});
