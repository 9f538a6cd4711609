import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parsePasswd, parseUidRange, read as readAccounts, readUidRange } from "../../src/probes/accounts.ts";
import { classifyPassword, daysSinceEpoch, hasExpired, parseShadow, read, schemeOf } from "../../src/probes/shadow.ts";
import { mixedEtc, secretsIn } from "../helpers/account-fixture.ts";
import { covenant, ensureBuilt } from "../helpers/cli.ts";

describe("shadow", () => {
  const r = read({ etc: mixedEtc });
  if (!r.ok) throw new Error(r.error.message);
  const byName = new Map(r.value.map((e) => [e.name, e]));

  it("classifies each password field as empty, locked or hashed, with the scheme only", () => {
    expect(r.value.map((e) => [e.name, e.password])).toEqual([
      ["root", { status: "hashed", scheme: "$y$" }],
      ["daemon", { status: "locked" }],
      ["bin", { status: "locked" }],
      ["alice", { status: "hashed", scheme: "$6$" }],
      ["bob", { status: "empty" }],
      ["carol", { status: "locked", scheme: "$6$" }],
      ["dave", { status: "locked" }],
      ["toor", { status: "hashed", scheme: "$1$" }],
      ["nobody", { status: "locked" }],
    ]);
  });

  it("reads the aging fields as numbers of days, empty fields as unset", () => {
    expect(byName.get("alice")).toEqual({ name: "alice", password: { status: "hashed", scheme: "$6$" }, lastChange: 20000, minDays: 1, maxDays: 90, warnDays: 7, inactiveDays: 30 });
    expect(byName.get("carol")?.expires).toBe(19000);
    expect(byName.get("dave")).toEqual({ name: "dave", password: { status: "locked" }, lastChange: 20000 });
  });

  it("skips malformed lines with their line number and a reason that repeats none of the line", () => {
    expect(r.skipped.map((s) => [s.line, s.reason])).toEqual([
      [9, "ends with a carriage return (a CRLF line): shadow-utils reads no entry from it"],
      [12, "expected 9 fields separated by `:`, got 1"],
      [13, "malformed entry for `weird`: field 3 is not a number of days"],
      [14, "malformed entry: the first field is not a user name"],
      [15, "NIS compat entry"],
    ]);
  });

  it("lets no hash, salt or part of one out of the parser", () => {
    expect(secretsIn(JSON.stringify(r))).toEqual([]);
    const passwd = readAccounts({ etc: mixedEtc });
    expect(secretsIn(JSON.stringify(passwd))).toEqual([]);
    expect(passwd.ok && passwd.value.users.find((u) => u.name === "legacy")?.password).toEqual({ status: "hashed", scheme: "$6$" });
    expect(passwd.ok && passwd.value.users.find((u) => u.name === "alice")?.password).toEqual({ status: "shadow" });
  });

  it("never keeps more of a crypt string than its scheme, whatever it holds", () => {
    const salt = fc.stringMatching(/^[./0-9A-Za-z]{8,16}$/);
    const hash = fc.stringMatching(/^[./0-9A-Za-z]{22,86}$/);
    const id = fc.constantFrom("1", "2b", "5", "6", "y", "gy", "7", "sha1", "md5");
    const lock = fc.constantFrom("", "!", "*", "!!");
    fc.assert(
      fc.property(lock, id, salt, hash, fc.integer({ min: 0, max: 99999 }), (l, i, s, h, days) => {
        const text = `user1:${l}$${i}$${s}$${h}:${days}:0:99999:7:::\n`;
        const out = JSON.stringify(parseShadow(text));
        expect(out).not.toContain(s);
        expect(out).not.toContain(h);
        expect(parseShadow(text).entries[0]?.password).toEqual(l === "" ? { status: "hashed", scheme: `$${i}$` } : { status: "locked", scheme: `$${i}$` });
      }),
    );
  });

  it("parses any text without throwing, into known classifications only", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 80 }), { maxLength: 12 }), (lines) => {
        const { entries } = parseShadow(lines.join("\n"));
        for (const e of entries) {
          expect(["empty", "locked", "hashed"]).toContain(e.password.status);
          if ("scheme" in e.password && e.password.scheme !== undefined) expect(e.password.scheme).toMatch(/^(\$[a-z0-9]{1,8}\$|des|bsdi|unknown)$/);
        }
      }),
    );
  });

  it("names schemes as crypt(3) does, and nothing else", () => {
    expect(schemeOf("abzlUXK5ed5rs")).toBe("des");
    expect(schemeOf("_J9..CCCCXBrJUJV154M")).toBe("bsdi");
    expect(schemeOf("x")).toBe("unknown");
    expect(schemeOf("$longerthaneight$abc")).toBe("unknown");
    expect(classifyPassword("*LK*")).toEqual({ status: "locked", scheme: "unknown" });
    expect(classifyPassword("!")).toEqual({ status: "locked" });
  });

  it("takes an expiry date as reached from its day on, and 0 as expired (as PAM does)", () => {
    const today = daysSinceEpoch(new Date("2026-12-06T12:00:00Z"));
    expect(today).toBe(20793);
    expect([hasExpired(undefined, today), hasExpired(20793, today), hasExpired(20794, today), hasExpired(0, today)]).toEqual([false, true, false, true]);
  });

  it("reads the uid range of accounts for people from login.defs, the last setting winning", () => {
    expect(readUidRange({ etc: mixedEtc })).toEqual({ ok: true, value: { min: 1000, max: 60000 }, skipped: [] });
    expect(parseUidRange("UID_MIN 500\nUID_MAX 29999\r\nUID_MIN 1500 # not a number\n")).toEqual({ min: 500, max: 29999 });
    const none = mkdtempSync(join(tmpdir(), "cvt-logindefs-"));
    expect(readUidRange({ etc: none })).toEqual({ ok: true, value: { min: 1000, max: 60000 }, skipped: [{ path: join(none, "login.defs"), reason: "does not exist: UID_MIN 1000 and UID_MAX 60000 assumed" }] });
  });

  it("is an error, not an empty list, when /etc/shadow is missing", () => {
    const none = mkdtempSync(join(tmpdir(), "cvt-shadow-"));
    expect(read({ etc: none })).toMatchObject({ ok: false, error: { code: "not-found" } });
    writeFileSync(join(none, "passwd"), "u:x:1:1::/:/bin/sh\n");
    expect(parsePasswd("u::1:1::/:/bin/sh\n").users[0]?.password).toEqual({ status: "empty" });
  });
});

describe("covenant observe shadow", () => {
  it("prints each account's password state and aging, and never a hash", () => {
    ensureBuilt();
    const text = covenant(["observe", "shadow", "--etc-root", mixedEtc]);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/\ncarol\s+locked \(\$6\$\)\s+2024-10-04\s+1\s+90\s+7\s+-\s+2022-01-08 \(expired\)\n/);
    expect(text.out).toMatch(/\nbob\s+empty\s/);
    const json = covenant(["observe", "shadow", "alice", "--json", "--etc-root", mixedEtc]);
    expect((JSON.parse(json.out) as { data: unknown[] }).data).toEqual([{ name: "alice", password: { status: "hashed", scheme: "$6$" }, lastChange: 20000, minDays: 1, maxDays: 90, warnDays: 7, inactiveDays: 30, expired: false }]);
    for (const out of [text.out, text.err, json.out, json.err]) expect(secretsIn(out)).toEqual([]);
    const none = covenant(["observe", "shadow", "--etc-root", "/nonexistent"]);
    expect([none.code, none.err.trim()]).toEqual([2, "covenant: cannot observe: /nonexistent/shadow does not exist (not-found)"]);
  });
});

// The live host, against its own tools: getent (through NSS), passwd -S and chage -l. Needs root.
const canRead = process.getuid?.() === 0 && existsSync("/etc/shadow");
describe.skipIf(!canRead)("shadow on this host, cross-checked", () => {
  const live = read({ etc: "/etc" });
  if (!live.ok) throw new Error(live.error.message);
  const mine = new Map(live.value.map((e) => [e.name, e]));

  it("classifies every account as `getent shadow` and `passwd -S` show it", () => {
    const getent = execFileSync("getent", ["shadow"], { encoding: "utf8" }).trim().split("\n");
    const fromGetent = getent.map((line) => {
      const [name, pw] = line.split(":");
      return [name, pw === "" ? "empty" : /^[!*]/.test(pw!) ? "locked" : "hashed"];
    });
    expect(live.value.map((e) => [e.name, e.password.status])).toEqual(fromGetent);
    const status = { L: "locked", NP: "empty", P: "hashed" } as Record<string, string>;
    const fromPasswd = execFileSync("passwd", ["-S", "-a"], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map((l) => l.split(" "));
    expect(fromPasswd.length).toBeGreaterThan(5);
    for (const [name, s] of fromPasswd) expect([name, mine.get(name!)?.password.status]).toEqual([name, status[s!]]);
  });

  it("reads the aging fields as `chage -l` shows them", () => {
    const names = [...mine.keys()];
    for (const name of names) {
      const text = execFileSync("chage", ["-l", "-i", "--", name], { encoding: "utf8", env: { ...process.env, LC_ALL: "C" } });
      const field = (label: string) => Number(/:\s*(-?\d+)\s*$/.exec(text.split("\n").find((l) => l.startsWith(label))!)![1]);
      const e = mine.get(name)!;
      expect([name, e.minDays ?? -1, e.maxDays ?? -1, e.warnDays ?? -1]).toEqual([name, field("Minimum number"), field("Maximum number"), field("Number of days of warning")]);
    }
  });
});
