// The SQLite under the store is better-sqlite3's, built again at install (scripts/build-sqlite.mjs)
// without the extensions the store never uses: every run loads it, and the stock one maps ~1 MB
// more code into each. What the store relies on is all there: better-sqlite3's own options (the
// defaults of foreign keys, of the WAL's sync, DQS off, one connection per thread), the column
// metadata better-sqlite3 needs, and the JSON functions the store's reads use.
import Database from "better-sqlite3";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error a build script, in plain JavaScript
import { buildSqlite, definesFrom, optionsDiffer, SQLITE_CFLAGS, SQLITE_LEFT_OUT } from "../../scripts/build-sqlite.mjs";

const options = (): string[] => (new Database(":memory:").pragma("compile_options", { simple: false }) as { compile_options: string }[]).map((r) => r.compile_options);

describe("the store's SQLite", () => {
  it("has none of the extensions left out, and every option of better-sqlite3's the store relies on", () => {
    const have = options();
    expect(have.filter((o) => (SQLITE_LEFT_OUT as string[]).includes(o))).toEqual([]);
    for (const kept of ["DEFAULT_CACHE_SIZE=-16000", "DEFAULT_FOREIGN_KEYS", "DEFAULT_MEMSTATUS=0", "DEFAULT_WAL_SYNCHRONOUS=1", "DQS=0", "ENABLE_COLUMN_METADATA", "ENABLE_UPDATE_DELETE_LIMIT", "LIKE_DOESNT_MATCH_BLOBS", "OMIT_DEPRECATED", "OMIT_PROGRESS_CALLBACK", "OMIT_SHARED_CACHE", "OMIT_TCL_VARIABLE", "THREADSAFE=2"]) {
      expect(have).toContain(kept);
    }
  });

  it("answers what the store asks of it, and not what was left out", () => {
    const db = new Database(":memory:");
    expect(db.prepare("SELECT json_extract('{\"key\": \"GL-01/file:/srv/ledger\"}', '$.key') AS k").pluck().get()).toBe("GL-01/file:/srv/ledger");
    expect(db.prepare("SELECT sum(json_extract(f.value, '$.bytes')) FROM json_each('{\"files\": [{\"bytes\": 3}, {\"bytes\": 4}]}', '$.files') AS f").pluck().get()).toBe(7);
    expect(db.pragma("foreign_keys", { simple: true })).toBe(1);
    expect(db.prepare("SELECT 1 AS one").columns()[0]).toMatchObject({ name: "one", column: null });
    expect(() => db.exec("CREATE VIRTUAL TABLE t USING fts5(body)")).toThrow(/no such module: fts5/);
    expect(() => db.exec("CREATE VIRTUAL TABLE r USING rtree(id, x0, x1)")).toThrow(/no such module: rtree/);
    expect(() => db.prepare("SELECT sqrt(4)").get()).toThrow(/no such function: sqrt/);
  });

  it("is the addon the install built, and says how", () => {
    const addon = join(dirname(createRequire(import.meta.url).resolve("better-sqlite3/package.json")), "build/Release");
    expect(existsSync(join(addon, "covenant-sqlite.json"))).toBe(true);
    expect(JSON.parse(readFileSync(join(addon, "covenant-sqlite.json"), "utf8"))).toMatchObject({ cflags: SQLITE_CFLAGS, leftOut: SQLITE_LEFT_OUT, addon: createHash("sha256").update(readFileSync(join(addon, "better_sqlite3.node"))).digest("hex") });
  });
});

describe("scripts/build-sqlite.mjs", () => {
  /** A copy of the package as an install leaves it: its sources and the stock addon. */
  function stockCopy(): { pkg: string; addon: string } {
    const from = dirname(createRequire(import.meta.url).resolve("better-sqlite3/package.json"));
    const pkg = join(mkdtempSync(join(tmpdir(), "covenant-sqlite-build-")), "better-sqlite3");
    for (const part of ["binding.gyp", "package.json", "src", "deps", "lib"]) cpSync(join(from, part), join(pkg, part), { recursive: true });
    mkdirSync(join(pkg, "build/Release"), { recursive: true });
    const addon = join(pkg, "build/Release/better_sqlite3.node");
    writeFileSync(addon, "the stock addon");
    return { pkg, addon };
  }

  it("leaves the stock addon in place, and says so, when the build fails; a damaged stamp is built again", () => {
    const { pkg, addon } = stockCopy();
    try {
      writeFileSync(join(pkg, "binding.gyp"), "{ this is not gyp");
      writeFileSync(join(pkg, "build/Release/covenant-sqlite.json"), "{ damaged");
      const warned: string[] = [];
      buildSqlite({ pkg, scratch: join(pkg, "..", "scratch"), warn: (m: string) => warned.push(m) });
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatch(/was not rebuilt .*the stock one stays/);
      expect(readFileSync(addon, "utf8")).toBe("the stock addon");
      expect(readFileSync(join(pkg, "build/Release/covenant-sqlite.json"), "utf8")).toBe("{ damaged");
      expect(existsSync(join(pkg, "..", "scratch"))).toBe(false);
    } finally {
      rmSync(dirname(pkg), { recursive: true, force: true });
    }
  });

  it("does nothing when the addon is the one these inputs make, and builds again when another addon is beside its stamp", () => {
    const { pkg, addon } = stockCopy();
    try {
      // a build would fail at once: whether one is tried is what is looked at
      writeFileSync(join(pkg, "binding.gyp"), "{ this is not gyp");
      const installed = join(dirname(createRequire(import.meta.url).resolve("better-sqlite3/package.json")), "build/Release");
      cpSync(join(installed, "covenant-sqlite.json"), join(pkg, "build/Release/covenant-sqlite.json"));
      cpSync(join(installed, "better_sqlite3.node"), addon);
      const warned: string[] = [];
      const build = () => buildSqlite({ pkg, scratch: join(pkg, "..", "scratch"), warn: (m: string) => warned.push(m) });
      build();
      expect(warned).toEqual([]);
      // the stock addon put back beside the stamp (`npm rebuild better-sqlite3` leaves the stamp)
      writeFileSync(addon, "the stock addon, put back");
      build();
      expect(warned).toHaveLength(1);
      expect(readFileSync(addon, "utf8")).toBe("the stock addon, put back");
    } finally {
      rmSync(dirname(pkg), { recursive: true, force: true });
    }
  });
});

describe("the rebuilt addon's options", () => {
  // better-sqlite3 12.11.1's stock addon, as `PRAGMA compile_options` lists them (in part)
  const stock = ["COMPILER=gcc-12.2.0", "DEFAULT_CACHE_SIZE=-16000", "DEFAULT_FOREIGN_KEYS", "DQS=0", "ENABLE_COLUMN_METADATA", "ENABLE_DBSTAT_VTAB", "ENABLE_FTS3", "ENABLE_FTS3_PARENTHESIS", "ENABLE_FTS4", "ENABLE_FTS5", "ENABLE_GEOPOLY", "ENABLE_MATH_FUNCTIONS", "ENABLE_PERCENTILE", "ENABLE_RTREE", "ENABLE_STAT4", "SOUNDEX", "THREADSAFE=2"];

  it("are built from better-sqlite3's own defines.gypi, less those left out", () => {
    const gypi = "{\n  'defines': [\n    'HAVE_USLEEP=1',\n    'SQLITE_DQS=0',\n    'SQLITE_ENABLE_COLUMN_METADATA',\n    'SQLITE_ENABLE_FTS5',\n    'SQLITE_SOUNDEX',\n    'SQLITE_A_NEW_ONE=7',\n  ],\n}\n";
    expect(definesFrom(gypi)).toBe("#define HAVE_USLEEP 1\n#define SQLITE_DQS 0\n#define SQLITE_ENABLE_COLUMN_METADATA 1\n#define SQLITE_A_NEW_ONE 7\n");
    expect(() => definesFrom("{ 'defines': [] }")).toThrow(/names no option/);
  });

  it("are the stock addon's less those left out, whatever the compiler", () => {
    expect(optionsDiffer(["COMPILER=gcc-13.1.0", "DEFAULT_CACHE_SIZE=-16000", "DEFAULT_FOREIGN_KEYS", "DQS=0", "ENABLE_COLUMN_METADATA", "THREADSAFE=2"], stock)).toBeUndefined();
  });

  it("say what a new better-sqlite3's define would have been lost, and what was left in", () => {
    expect(optionsDiffer(["DEFAULT_CACHE_SIZE=-16000", "DQS=0", "ENABLE_COLUMN_METADATA", "THREADSAFE=2"], stock)).toBe("without DEFAULT_FOREIGN_KEYS");
    expect(optionsDiffer(["DEFAULT_CACHE_SIZE=-16000", "DEFAULT_FOREIGN_KEYS", "DQS=0", "ENABLE_COLUMN_METADATA", "ENABLE_FTS5", "THREADSAFE=1"], stock)).toBe("without THREADSAFE=2; with ENABLE_FTS5, THREADSAFE=1");
  });
});
