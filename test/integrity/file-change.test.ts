import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CHANGE_ORDER, describeChange, summarizeChange, type ChangeKind, type Difference } from "../../src/integrity/file-change.ts";
import type { FileState, FileType, PresentState } from "../../src/integrity/file-state.ts";

const types: FileType[] = ["file", "directory", "symlink", "socket", "fifo", "block-device", "char-device"];
const hex = (c: string) => c.repeat(64);

/** A present state whose every attribute is drawn from a small domain, so that two often agree. */
const presentArb: fc.Arbitrary<PresentState> = fc
  .record({
    type: fc.constantFrom(...types),
    mode: fc.constantFrom(0o644, 0o600, 0o4755, 0o777),
    uid: fc.constantFrom(0, 1000),
    gid: fc.constantFrom(0, 1000),
    size: fc.constantFrom(0, 2, 4096),
    mtimeMs: fc.constantFrom(1_700_000_000_000, 1_700_000_000_000.5, 978_307_200_000),
    dev: fc.constantFrom(2049, 2050),
    inode: fc.constantFrom(12, 13),
    nlink: fc.constantFrom(1, 2),
    linkTarget: fc.constantFrom("content", "/etc/shadow"),
    content: fc.constantFrom<"a" | "b" | "keyed-a" | "skipped">("a", "b", "keyed-a", "skipped"),
  })
  .map(({ content, linkTarget, ...r }) => {
    const s: PresentState = { status: "present", path: "/etc/x", ...r };
    if (r.type === "symlink") s.linkTarget = linkTarget;
    if (r.type === "file") {
      if (content === "skipped") s.hashSkipped = "2.0 GiB, larger than the 256.0 MiB hashed";
      else s.sha256 = hex(content.slice(-1));
      if (content === "keyed-a") s.sha256Keyed = true;
    }
    return s;
  });

const stateArb: fc.Arbitrary<FileState | undefined> = fc.oneof(
  { weight: 6, arbitrary: presentArb },
  { weight: 1, arbitrary: fc.constant({ status: "absent", path: "/etc/x" } as const) },
  { weight: 1, arbitrary: fc.constantFrom("EACCES", "ELOOP").map((code) => ({ status: "unreadable", path: "/etc/x", code, reason: `cannot: ${code}` }) as const) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

/** The kinds that must be reported, from the attributes compared one by one. */
function expectedKinds(b: PresentState, a: PresentState): ChangeKind[] {
  const out: ChangeKind[] = [];
  if (b.type !== a.type) out.push("type");
  if (b.linkTarget !== a.linkTarget) out.push("link-target");
  if (b.size !== a.size || b.sha256 !== a.sha256 || b.sha256Keyed !== a.sha256Keyed) out.push("content");
  if (b.mode !== a.mode) out.push("mode");
  if (b.uid !== a.uid) out.push("owner");
  if (b.gid !== a.gid) out.push("group");
  if (b.mtimeMs !== a.mtimeMs) out.push("mtime");
  if (b.inode !== a.inode || b.dev !== a.dev) out.push("inode");
  if (b.nlink !== a.nlink) out.push("link-count");
  return out;
}

const mirrored: Record<ChangeKind, ChangeKind> = { ...(Object.fromEntries(CHANGE_ORDER.map((k) => [k, k])) as Record<ChangeKind, ChangeKind>), created: "deleted", deleted: "created" };
const values = (ds: Difference[]) => ds.map((d) => ({ kind: d.kind, old: d.old, new: d.new }));

describe("describeChange properties", () => {
  it("finds nothing between a state and itself", () => {
    fc.assert(
      fc.property(stateArb, (s) => {
        expect(describeChange(s, s)).toEqual([]);
        expect(describeChange(s, s === undefined ? undefined : structuredClone(s))).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it("reports every attribute that differs exactly once, and no other, in AIDE's order", () => {
    fc.assert(
      fc.property(presentArb, presentArb, (b, a) => {
        const kinds = describeChange(b, a).map((d) => d.kind);
        expect(kinds).toEqual(expectedKinds(b, a));
        expect(kinds).toEqual([...kinds].sort((x, y) => CHANGE_ORDER.indexOf(x) - CHANGE_ORDER.indexOf(y)));
      }),
      { numRuns: 2000 },
    );
  });

  it("is symmetric: swapping the states swaps old and new, and created with deleted", () => {
    fc.assert(
      fc.property(stateArb, stateArb, (b, a) => {
        const there = values(describeChange(b, a));
        const back = values(describeChange(a, b)).map((d) => ({ kind: mirrored[d.kind], old: d.new, new: d.old }));
        expect(back).toEqual(there);
      }),
      { numRuns: 2000 },
    );
  });

  it("says created or deleted only when a present path appears or goes, and then alone", () => {
    fc.assert(
      fc.property(stateArb, stateArb, (b, a) => {
        const ds = describeChange(b, a);
        const gone = (s: FileState | undefined) => s === undefined || s.status === "absent";
        expect(ds.some((d) => d.kind === "created")).toBe(gone(b) && a?.status === "present");
        expect(ds.some((d) => d.kind === "deleted")).toBe(b?.status === "present" && gone(a));
        if (ds.some((d) => d.kind === "created" || d.kind === "deleted" || d.kind === "status")) expect(ds).toHaveLength(1);
        for (const d of ds) expect(d.text).not.toMatch(/\n/);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("describeChange in words", () => {
  const base: PresentState = { status: "present", path: "/etc/sudoers", type: "file", mode: 0o440, uid: 0, gid: 0, size: 755, mtimeMs: Date.UTC(2026, 0, 2, 3, 4, 5), dev: 2049, inode: 100, nlink: 1, sha256: hex("a") };

  it("gives each attribute's old and new value, and one line for the whole", () => {
    const after: PresentState = { ...base, mode: 0o644, uid: 1000, gid: 27, size: 800, sha256: hex("b"), mtimeMs: base.mtimeMs + 1500, inode: 101, nlink: 2 };
    const ds = describeChange(base, after);
    expect(ds.map((d) => [d.kind, d.old, d.new])).toEqual([
      ["content", { size: 755, sha256: hex("a") }, { size: 800, sha256: hex("b") }],
      ["mode", 0o440, 0o644],
      ["owner", 0, 1000],
      ["group", 0, 27],
      ["mtime", base.mtimeMs, base.mtimeMs + 1500],
      ["inode", { dev: 2049, inode: 100 }, { dev: 2049, inode: 101 }],
      ["link-count", 1, 2],
    ]);
    expect(summarizeChange("/etc/sudoers", ds)).toBe(
      "/etc/sudoers: content sha256 aaaaaaaaaaaaaaaa… → bbbbbbbbbbbbbbbb…, size 755 bytes → 800 bytes; mode 0440 → 0644; owner uid 0 → 1000; group gid 0 → 27; " +
        "mtime 2026-01-02T03:04:05.000Z → 2026-01-02T03:04:06.500Z; replaced: inode 100 → 101 (renamed over or re-created); link count 1 → 2",
    );
    expect(summarizeChange("/etc/sudoers", [])).toBe("/etc/sudoers: unchanged");
  });

  it("tells a file replaced by a link, a retargeted link, and sizes that round alike", () => {
    const link: PresentState = { ...base, type: "symlink", mode: 0o777, size: 11, linkTarget: "/etc/shadow" };
    delete link.sha256;
    expect(describeChange(base, link).map((d) => d.text)).toEqual([
      "file type file → symlink",
      'link target (none) → "/etc/shadow"',
      "content sha256 aaaaaaaaaaaaaaaa… → (none: a symbolic link), size 755 bytes → 11 bytes",
      "mode 0440 → 0777",
    ]);
    expect(describeChange(link, { ...link, linkTarget: "/etc/passwd" }).map((d) => d.text)).toEqual(['link target "/etc/shadow" → "/etc/passwd"']);
    const dir: PresentState = { ...base, type: "directory", size: 4096, sha256: undefined } as PresentState;
    delete dir.sha256;
    expect(describeChange(dir, { ...dir, size: 4097 }).map((d) => d.text)).toEqual(["size 4096 → 4097 bytes"]);
  });

  it("withholds a nodiff file's digests, and says why content was not hashed", () => {
    const keyed: PresentState = { ...base, sha256: "k1", sha256Keyed: true };
    expect(describeChange(keyed, { ...keyed, sha256: "k2" })[0]!.text).toBe("content changed (digests withheld: nodiff), size 755 bytes (unchanged)");
    expect(describeChange({ ...keyed, sha256: "k2" }, keyed)[0]!.text).not.toMatch(/k1|k2/);
    const big = { ...base, sha256: undefined, hashSkipped: "2.0 GiB, larger than the 256.0 MiB hashed" } as PresentState;
    delete big.sha256;
    expect(describeChange(base, big)[0]!.text).toBe("content sha256 aaaaaaaaaaaaaaaa… → (not hashed: 2.0 GiB, larger than the 256.0 MiB hashed), size 755 bytes (unchanged)");
    expect(describeChange(big, { ...big, hashSkipped: "permission denied reading /etc/sudoers" })).toEqual([]);
  });

  it("creates, deletes, and tells a path that became unreadable from one that went", () => {
    expect(describeChange(undefined, base).map((d) => d.text)).toEqual([`created (file, 755 bytes, mode 0440, uid 0, gid 0, sha256 aaaaaaaaaaaaaaaa…)`]);
    expect(describeChange(base, { status: "absent", path: base.path })).toEqual([{ kind: "deleted", old: base, new: undefined, text: "deleted (was file, 755 bytes, mode 0440, uid 0, gid 0, sha256 aaaaaaaaaaaaaaaa…)" }]);
    const denied: FileState = { status: "unreadable", path: base.path, code: "EACCES", reason: "permission denied reading /etc/sudoers" };
    expect(describeChange(base, denied)).toEqual([{ kind: "status", old: "present", new: "unreadable (EACCES)", text: "unreadable (EACCES) (was present)" }]);
    expect(describeChange(denied, base)[0]!.text).toBe("observable again (was unreadable (EACCES))");
    expect(describeChange(undefined, { status: "absent", path: base.path })).toEqual([]);
  });
});
