// The audit log's records and events (pure), and which events touched a path.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { changesTo, eventTouches, itemPath, syscallName } from "../../src/watch/audit-match.ts";
import { decodeValue, parseEvents, parseRecord, proctitleArgv } from "../../src/watch/audit-records.ts";

// Lines as auditd 3.0 (Debian 12) wrote them in this machine's log, ENRICHED format (0x1d before the interpretation).
const GS = "\x1d";
const LOG = [
  `type=SYSCALL msg=audit(1796509509.038:4): arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c a1=5585bf28a908 a2=441 a3=1b6 items=1 ppid=7827 pid=7847 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="sh" exe="/usr/bin/dash" key="covenant-watch"${GS}ARCH=x86_64 SYSCALL=openat AUID="unset" UID="root" GID="root"`,
  `type=CWD msg=audit(1796509509.038:4): cwd="/tmp/who-exp"`,
  `type=PATH msg=audit(1796509509.038:4): item=0 name="f" inode=2154513 dev=fe:00 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0${GS}OUID="root" OGID="root"`,
  `type=PROCTITLE msg=audit(1796509509.038:4): proctitle=7368002D63006563686F2078203E3E2066`,
  `type=CONFIG_CHANGE msg=audit(1796509509.018:2): auid=4294967295 ses=4294967295 op=add_rule key="covenant-watch" list=4 res=1${GS}AUID="unset"`,
].join("\n");

/** How the kernel writes a string a process controls (audit_log_untrustedstring). */
function encode(s: string): string {
  const bytes = Buffer.from(s, "utf8");
  const plain = bytes.every((b) => b > 0x20 && b < 0x7f && b !== 0x22);
  return plain ? `"${s}"` : bytes.toString("hex").toUpperCase();
}

describe("audit records", () => {
  it("reads an event of the real log: syscall, working directory, path item, command line", () => {
    const [e, ...rest] = parseEvents(LOG);
    expect(rest).toEqual([]); // CONFIG_CHANGE is not kept
    expect(e).toMatchObject({ timeMs: 1796509509038, serial: 4, cwd: "/tmp/who-exp", argv: ["sh", "-c", "echo x >> f"] });
    expect(e!.syscall).toMatchObject({ pid: "7847", ppid: "7827", uid: "0", auid: "4294967295", comm: "sh", exe: "/usr/bin/dash", key: "covenant-watch" });
    expect(e!.paths).toEqual([{ item: 0, name: "f", inode: "2154513", dev: "254:0", nametype: "NORMAL" }]);
    expect(syscallName(e!)).toBe("openat");
    expect(itemPath(e!, e!.paths[0]!)).toBe("/tmp/who-exp/f");
    const changes = changesTo([e!], { path: "/tmp/who-exp/f", files: [] }, 0, Infinity, (uid) => (uid === 0 ? "root" : undefined));
    expect(changes).toEqual([{ at: "2026-12-05T22:25:09.038Z", serial: 4, syscall: "openat", pid: 7847, ppid: 7827, uid: 0, user: "root", exe: "/usr/bin/dash", comm: "sh" }]);
  });

  it("reads the log of an auditd that names its node (name_format = hostname, as fleets set it): `node=NAME ` before each record", () => {
    const named = LOG.split("\n").map((l) => `node=ledger-db-01 ${l}`).join("\n");
    expect(parseEvents(named)).toEqual(parseEvents(LOG));
  });

  it("names the syscall from the number in the RAW format, per architecture", () => {
    const raw = LOG.split("\n").map((l) => l.split(GS)[0]).join("\n");
    expect(syscallName(parseEvents(raw)[0]!)).toBe("openat");
    const aarch = raw.replace("arch=c000003e syscall=257", "arch=c00000b7 syscall=56");
    expect(syscallName(parseEvents(aarch)[0]!)).toBe("openat");
    expect(syscallName(parseEvents(raw.replace("syscall=257", "syscall=9999"))[0]!)).toBe("syscall 9999");
  });

  it("a relative name is resolved from the working directory only when the syscall did so; else the inode matches", () => {
    const withDirfd = LOG.replace("a0=ffffff9c", "a0=5");
    const e = parseEvents(withDirfd)[0]!;
    expect(itemPath(e, e.paths[0]!)).toBeUndefined();
    expect(eventTouches(e, { path: "/tmp/who-exp/f", files: [] })).toBe(false);
    expect(eventTouches(e, { path: "/anywhere/f", files: [{ dev: "254:0", ino: "2154513" }] })).toBe(true);
    expect(eventTouches(e, { path: "/anywhere/f", files: [{ dev: "254:1", ino: "2154513" }] })).toBe(false);
  });

  it("keeps a 20-digit inode number whole: a neighbour's file above 2^53 (overlayfs with xino) is not the target", () => {
    const big = LOG.replace("a0=ffffff9c", "a0=5").replace("inode=2154513 dev=fe:00", "inode=9223372036854775809 dev=00:2d");
    const e = parseEvents(big)[0]!;
    expect(e.paths[0]!.inode).toBe("9223372036854775809");
    expect(eventTouches(e, { path: "/anywhere/f", files: [{ dev: "0:45", ino: "9223372036854775809" }] })).toBe(true);
    const neighbour = { path: "/anywhere/g", files: [{ dev: "0:45", ino: "9223372036854775808" }] };
    expect(eventTouches(e, neighbour)).toBe(false);
    expect(changesTo([e], neighbour, 0, Infinity, () => undefined)).toEqual([]);
    // leading zeros are the number's, not another; past 2^64 - 1 is no inode
    expect(parseEvents(big.replace("inode=9223372036854775809", "inode=0009"))[0]!.paths[0]!.inode).toBe("9");
    expect(parseEvents(big.replace("inode=9223372036854775809", "inode=18446744073709551616"))[0]!.paths[0]!.inode).toBeUndefined();
  });

  it("a failed syscall, or one outside the window, is not a change", () => {
    const e = parseEvents(LOG.replace("success=yes", "success=no"))[0]!;
    expect(changesTo([e], { path: "/tmp/who-exp/f", files: [] }, 0, Infinity, () => undefined)).toEqual([]);
    const ok = parseEvents(LOG)[0]!;
    expect(changesTo([ok], { path: "/tmp/who-exp/f", files: [] }, ok.timeMs + 1, Infinity, () => undefined)).toEqual([]);
  });

  it("auid unset (4294967295) is absent; a set one is read with its name", () => {
    const e = parseEvents(LOG.replace("auid=4294967295 uid=0", "auid=1000 uid=0"))[0]!;
    const [c] = changesTo([e], { path: "/tmp/who-exp/f", files: [] }, 0, Infinity, (uid) => (uid === 1000 ? "alice" : undefined));
    expect(c).toMatchObject({ auid: 1000, loginUser: "alice" });
    const [unset] = changesTo(parseEvents(LOG), { path: "/tmp/who-exp/f", files: [] }, 0, Infinity, () => undefined);
    expect(unset).not.toHaveProperty("auid");
  });

  it("any string a process controls comes back as it was, however it was encoded (property)", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 60 }), fc.string({ minLength: 1, maxLength: 16 }), fc.string({ minLength: 1, maxLength: 40 }), (name, comm, cwdTail) => {
        const cwd = `/${cwdTail.replace(/\//g, "_")}`;
        const lines = [
          `type=SYSCALL msg=audit(1700000000.001:77): arch=c000003e syscall=2 success=yes exit=3 a0=1 items=1 ppid=1 pid=42 auid=1000 uid=1000 comm=${encode(comm)} exe=${encode("/usr/bin/x y")} key=(null)`,
          `type=CWD msg=audit(1700000000.001:77): cwd=${encode(cwd)}`,
          `type=PATH msg=audit(1700000000.001:77): item=0 name=${encode(name)} inode=9 dev=08:01 nametype=NORMAL`,
        ];
        const [e] = parseEvents(lines.join("\n"));
        return e!.syscall!["comm"] === comm && e!.syscall!["exe"] === "/usr/bin/x y" && e!.cwd === cwd && e!.paths[0]!.name === name && e!.syscall!["pid"] === "42" && !("key" in e!.syscall!);
      }),
    );
  });

  it("a file name cannot forge a field: what it holds is hex-encoded by the kernel (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        const forged = `${s}" pid=1 uid=0 name="x`;
        const line = `type=PATH msg=audit(1700000000.001:1): item=0 name=${encode(forged)} inode=1 dev=00:01 nametype=NORMAL`;
        const r = parseRecord(line)!;
        return r.fields["name"] === forged && !("pid" in r.fields);
      }),
    );
  });

  it("records of events are grouped by time and serial, in any order (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }), fc.integer(), (serials, seed) => {
        const lines = serials.flatMap((n) => [
          `type=SYSCALL msg=audit(1700000000.${String(n % 1000).padStart(3, "0")}:${n}): arch=c000003e syscall=2 success=yes pid=${n} uid=0 items=1`,
          `type=PATH msg=audit(1700000000.${String(n % 1000).padStart(3, "0")}:${n}): item=0 name="/f${n}" inode=${n} dev=00:01 nametype=NORMAL`,
        ]);
        const shuffled = lines.map((l, i) => [((i + 1) * (seed | 1)) % 9973, l] as const).sort((a, b) => a[0] - b[0]).map((x) => x[1]);
        const events = parseEvents(shuffled.join("\n"));
        const unique = new Set(serials);
        return events.length === unique.size && events.every((e) => e.syscall!["pid"] === String(e.serial) && e.paths.every((p) => p.name === `/f${e.serial}`));
      }),
    );
  });

  it("never throws on any text (property)", () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), (s) => Array.isArray(parseEvents(`type=PATH msg=audit(1.000:1): ${s}\n${s}`))));
    expect(decodeValue("name", "(null)")).toBeUndefined();
    expect(decodeValue("name", "ZZ")).toBe("ZZ");
    expect(proctitleArgv('"bash"')).toEqual(["bash"]);
  });
});
