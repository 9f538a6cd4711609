import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalModule, isModuleName, parse, read } from "../../src/probes/modules.ts";
import { ensureDebianTool } from "../helpers/debian-package.ts";

const fixture = "test/fixtures/proc/kmod-desktop";

// lsmod (Debian's kmod) is installed when missing, so that the live comparison runs
const lsmodMissing = ensureDebianTool("lsmod", "kmod");
const liveSkip = !existsSync("/proc/modules") ? "this kernel has no /proc/modules" : lsmodMissing;

describe("modules probe", () => {
  it("reads every module of a /proc/modules, with its users, state and taints", () => {
    const r = read({ proc: fixture });
    expect(r.ok && r.skipped).toEqual([]);
    const mods = r.ok ? r.value : [];
    expect(mods.map((m) => m.name)).toEqual(["nf_conntrack", "usb_storage", "uas", "vboxdrv", "snd_hda_codec_hdmi", "ipv6", "cramfs"]);
    expect(mods[0]).toEqual({ name: "nf_conntrack", size: 172032, refcount: 3, usedBy: ["nf_nat", "nft_ct", "xt_conntrack"], state: "Live" });
    expect(mods[2]!.usedBy).toEqual([]);
    expect(mods[3]!.taints).toBe("(OE)");
    expect(mods[5]!.usedBy).toEqual([]); // [permanent] is no module
    expect(mods.map((m) => m.state)).toContain("Unloading");
  });

  it("passes over a line that is not a module's, and says where", () => {
    const r = parse("uas 32768 0 - Live 0x0\ngarbage\nx y z\n", "/proc/modules");
    expect(r.modules.map((m) => m.name)).toEqual(["uas"]);
    expect(r.skipped.map((s) => s.line)).toEqual([2, 3]);
  });

  it("is unavailable where the kernel has no /proc/modules", () => {
    expect(read({ proc: "/nonexistent" })).toMatchObject({ ok: false, error: { code: "unavailable" } });
  });

  it("takes `-` and `_` as one character in names", () => {
    expect(canonicalModule("usb-storage")).toBe("usb_storage");
    expect(isModuleName("usb-storage")).toBe(true);
    expect(isModuleName("-r")).toBe(false);
    expect(isModuleName("../x")).toBe(false);
  });

  it("reads back any module line the kernel could print", () => {
    const name = fc.stringMatching(/^[a-z0-9_]{1,30}$/);
    fc.assert(
      fc.property(name, fc.nat(), fc.nat({ max: 1000 }), fc.array(name, { maxLength: 5 }), fc.constantFrom("Live", "Loading", "Unloading"), (n, size, refs, users, state) => {
        const line = `${n} ${size} ${refs} ${users.length === 0 ? "-" : users.map((u) => `${u},`).join("")} ${state} 0x0000000000000000`;
        const r = parse(line + "\n");
        expect(r.skipped).toEqual([]);
        expect(r.modules).toEqual([{ name: n, size, refcount: refs, usedBy: users, state }]);
      }),
    );
  });

  it("never throws, whatever the text", () => {
    fc.assert(fc.property(fc.string(), (s) => void parse(s)));
  });

  it.skipIf(liveSkip !== undefined)(`agrees with lsmod(8) on the live host${liveSkip ? ` (skipped: ${liveSkip})` : ""}`, () => {
    const r = read({ proc: "/proc" });
    const lsmod = execFileSync("lsmod", [], { encoding: "utf8" })
      .split("\n")
      .slice(1)
      .filter((l) => l.trim() !== "")
      .map((l) => {
        const [name, size, count, users] = l.trim().split(/\s+/);
        return { name, size: Number(size), refcount: Number(count), usedBy: (users ?? "").split(",").filter((u) => u !== "" && u !== "[permanent]") };
      });
    expect(r.ok && r.value.map((m) => ({ name: m.name, size: m.size, refcount: m.refcount, usedBy: m.usedBy }))).toEqual(lsmod);
  });
});
