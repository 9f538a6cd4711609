import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EFLAGS, formatStanza, parse, read, STATUSES, WANTS } from "../../src/probes/dpkg.ts";

const fixture = (name: string) => readFileSync(`test/fixtures/packages/${name}`, "utf8");

/** A root whose var/lib/dpkg holds `status` (and update files): a sandbox's, or a test's. */
function root(status: string, updates: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "cvt-dpkg-"));
  mkdirSync(join(dir, "var/lib/dpkg/updates"), { recursive: true });
  writeFileSync(join(dir, "var/lib/dpkg/status"), status);
  for (const [name, text] of Object.entries(updates)) writeFileSync(join(dir, "var/lib/dpkg/updates", name), text);
  return dir;
}

describe("dpkg", () => {
  it("reads every record of a status file, installed or not, with continuation lines folded", () => {
    const { packages, skipped } = parse(fixture("debian12-status"));
    expect(skipped).toEqual([]);
    expect(packages.map((p) => [p.name, p.architecture, p.version, p.status, p.installed])).toEqual([
      ["adduser", "all", "3.134", "installed", true],
      ["auditd", "amd64", "1:3.0.9-1", "installed", true],
      ["libc6", "amd64", "2.36-9+deb12u4", "installed", true],
      ["libc6", "i386", "2.36-9+deb12u3", "installed", true],
      // removed, its configuration files left: not installed
      ["telnet", "amd64", "0.17+2.4-2", "config-files", false],
      ["rsh-server", "amd64", "0.17-24", "half-installed", false],
      ["nis", "amd64", "4.17", "unpacked", false],
      // configured, a trigger still to run: installed, as dpkg counts it
      ["man-db", "amd64", "2.11.2-2", "triggers-pending", true],
      // held: still installed
      ["openssh-server", "amd64", "1:9.2p1-2+deb12u2", "installed", true],
      ["talk", "amd64", "", "not-installed", false],
    ]);
    expect(packages.find((p) => p.name === "openssh-server")).toMatchObject({ want: "hold", eflag: "ok", line: 65 });
    expect(packages.find((p) => p.name === "libc6")?.multiArch).toBe("same");
  });

  it("reports each malformed stanza with its line and why, and reads the rest", () => {
    const { packages, skipped } = parse(fixture("malformed-status"), "malformed-status");
    expect(packages.map((p) => `${p.name}:${p.architecture}=${p.version}`)).toEqual(["good-one:amd64=1.0", "good-three:arm64=3.0"]);
    expect(skipped.map((s) => `${s.line}: ${s.reason}`)).toEqual([
      "6: a continuation line before any field",
      "10: the stanza of `no-status` has no `Status` field",
      "14: a stanza without a `Package` field",
      "17: the `Status` of `two-words` is not three words (want, flag, status): `install installed`",
      "21: the `Status` of `odd-want` has an unknown wanted state `maybe`",
      "24: the `Status` of `odd-status` has an unknown status `mostly-installed`",
      "27: `Bad_Name` is not a package name",
      "31: the field `Package` appears twice in one stanza; the stanza from line 30 is not read",
      '38: not a field (`Name: value`): "this line has no colon"; the stanza from line 34 is not read',
      "40: a second record of `good-one` (amd64); the first, at line 1, is used",
    ]);
    expect(skipped.every((s) => s.path === "malformed-status")).toBe(true);
  });

  it("reads CRLF line ends and white-space-only separator lines", () => {
    const { packages, skipped } = parse("Package: a\r\nStatus: install ok installed\r\nVersion: 1\r\n \t\r\nPackage: b\r\nStatus: install ok installed\r\n");
    expect(skipped).toEqual([]);
    expect(packages.map((p) => [p.name, p.version, p.line])).toEqual([
      ["a", "1", 1],
      ["b", "", 5],
    ]);
  });

  const name = fc.stringMatching(/^[a-z0-9][a-z0-9+.-]{1,20}$/);
  const arch = fc.constantFrom("amd64", "i386", "arm64", "all", "");
  const version = fc.option(fc.stringMatching(/^([0-9]{1,2}:)?[0-9][a-z0-9.+~]{0,8}(-[a-z0-9.+~]{1,6})?$/), { nil: "" });
  const multiline = fc.array(fc.stringMatching(/^[A-Za-z0-9 .,:()]{1,30}$/), { minLength: 1, maxLength: 4 }).map((ls) => ls.map((l) => l.trim() || ".").join("\n"));
  const record = fc.record({
    name,
    architecture: arch,
    version,
    want: fc.constantFrom(...WANTS),
    eflag: fc.constantFrom(...EFLAGS),
    status: fc.constantFrom(...STATUSES),
    extra: fc.array(fc.tuple(fc.constantFrom("Description", "Conffiles", "Depends", "Maintainer"), multiline), { maxLength: 2 }),
  });

  it("reads back what it formats, on generated stanzas (property)", () => {
    fc.assert(
      fc.property(fc.uniqueArray(record, { selector: (r) => `${r.name}:${r.architecture}`, maxLength: 12 }), (records) => {
        const text = records.map((r) => formatStanza({ ...r, extra: r.extra.filter((e, i, all) => all.findIndex((x) => x[0] === e[0]) === i) })).join("\n");
        const { packages, skipped } = parse(text);
        expect(skipped).toEqual([]);
        expect(packages.map((p) => ({ name: p.name, architecture: p.architecture, version: p.version, want: p.want, eflag: p.eflag, status: p.status }))).toEqual(
          records.map((r) => ({ name: r.name, architecture: r.architecture, version: r.version, want: r.want, eflag: r.eflag, status: r.status })),
        );
        // each record's line is where its stanza starts
        const lines = text.split("\n");
        for (const p of packages) expect(lines[p.line - 1]).toBe(`Package: ${p.name}`);
      }),
      { numRuns: 300 },
    );
  });

  it("never throws on arbitrary text, and every skip points at a line of it (property)", () => {
    const junk = fc.oneof(
      fc.string({ unit: "binary", maxLength: 400 }),
      fc.array(fc.constantFrom("Package: x", "Package: y", "Status: install ok installed", "Status: bad", " cont", "\t.", "", ":", "Version: 1", "#c", "Architecture: amd64"), { maxLength: 40 }).map((l) => l.join("\n")),
    );
    fc.assert(
      fc.property(junk, (text) => {
        const { packages, skipped } = parse(text);
        const count = text.split("\n").length;
        for (const s of skipped) {
          expect(s.line).toBeGreaterThanOrEqual(1);
          expect(s.line).toBeLessThanOrEqual(count);
        }
        for (const p of packages) expect(p.line).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: 1500 },
    );
  });

  it("reports a stanza broken anywhere inside a valid file at exactly that line (property)", () => {
    fc.assert(
      fc.property(fc.uniqueArray(record, { selector: (r) => `${r.name}:${r.architecture}`, minLength: 1, maxLength: 8 }), fc.nat(), (records, pick) => {
        const stanzas = records.map((r) => formatStanza({ ...r, extra: [] }));
        const broken = pick % stanzas.length;
        stanzas[broken] = stanzas[broken]!.replace(/\n/, "\nno colon here\n");
        const text = stanzas.join("\n");
        const { packages, skipped } = parse(text);
        const at = text.split("\n").indexOf("no colon here") + 1;
        expect(skipped).toEqual([{ path: "/var/lib/dpkg/status", line: at, reason: `not a field (\`Name: value\`): "no colon here"; the stanza from line ${at - 1} is not read` }]);
        expect(packages.map((p) => p.name)).toEqual(records.filter((_, i) => i !== broken).map((r) => r.name));
      }),
      { numRuns: 300 },
    );
  });

  it("reads the status file under a root, with dpkg's pending updates applied in order", () => {
    const dir = root(fixture("debian12-status"), {
      "0001": "Package: auditd\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:3.1.2-1\n",
      "0000": "Package: auditd\nStatus: install ok half-configured\nArchitecture: amd64\nVersion: 1:3.1.2-1\n",
      "0002": "Package: nis\nStatus: install ok installed\nArchitecture: amd64\nVersion: 4.17\n",
      "tmp.i": "Package: talk\nStatus: install ok installed\nArchitecture: amd64\nVersion: 9\n",
    });
    const r = read(dir);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.path).toBe(join(dir, "var/lib/dpkg/status"));
    const get = (n: string) => r.value.packages.find((p) => p.name === n)!;
    expect([get("auditd").version, get("auditd").status]).toEqual(["1:3.1.2-1", "installed"]);
    expect(get("nis").status).toBe("installed");
    // dpkg's temporary file is not part of the journal
    expect(get("talk").status).toBe("not-installed");
    expect(r.value.packages.map((p) => p.name)).toEqual([...r.value.packages.map((p) => p.name)].sort());
  });

  it("says why it cannot read: no database, a link, not a regular file", () => {
    const empty = mkdtempSync(join(tmpdir(), "cvt-dpkg-"));
    expect(read(empty)).toMatchObject({ ok: false, error: { code: "not-found" } });
    const linked = mkdtempSync(join(tmpdir(), "cvt-dpkg-"));
    mkdirSync(join(linked, "var/lib/dpkg"), { recursive: true });
    symlinkSync("/var/lib/dpkg/status", join(linked, "var/lib/dpkg/status"));
    expect(read(linked)).toMatchObject({ ok: false, error: { code: "malformed", message: expect.stringContaining("is a symbolic link") } });
    const fifo = mkdtempSync(join(tmpdir(), "cvt-dpkg-"));
    mkdirSync(join(fifo, "var/lib/dpkg/status"), { recursive: true });
    expect(read(fifo)).toMatchObject({ ok: false, error: { code: "malformed", message: expect.stringContaining("not a regular file") } });
  });

  // dpkg-query lists every record but those of purged packages (not-installed)
  const dpkgQuery = (() => {
    try {
      return execFileSync("dpkg-query", ["-W", "-f=${Package} ${Status} ${Version} ${Architecture}\\n"], { encoding: "utf8", maxBuffer: 64 << 20 });
    } catch {
      return undefined;
    }
  })();
  it.skipIf(dpkgQuery === undefined)("agrees with dpkg-query on this host's database (live)", () => {
    const r = read("/");
    if (!r.ok) throw new Error(r.error.message);
    expect(r.skipped).toEqual([]);
    const ours = r.value.packages.filter((p) => p.status !== "not-installed").map((p) => `${p.name} ${p.want} ${p.eflag} ${p.status} ${p.version} ${p.architecture}`);
    const theirs = dpkgQuery!.split("\n").filter((l) => l !== "");
    expect(ours.sort()).toEqual(theirs.sort());
    expect(ours.length).toBeGreaterThan(50);
  });
});
