// Builds better-sqlite3's addon again with the SQLite Covenant's store needs, at install (after
// npm has built the stock one): better-sqlite3's own compile-time options, less the extensions
// the store never uses (full-text search FTS3/4/5, R*Tree and Geopoly, the dbstat table, the
// math, percentile and soundex functions, STAT4), compiled for size. The addon is loaded in
// every run, and a run maps most of its code: the stock one is 2.0 MB of code, this one 0.8 MB,
// and a 2,000-promise run peaks ~0.9 MB lower at the same speed (bench/README.md). Fewer SQL
// functions within reach of the store's statements is also less to trust.
//
// The amalgamation is better-sqlite3's own (deps/sqlite3/sqlite3.c), with our options written
// before it, built through better-sqlite3's documented `--sqlite3=<dir>` (docs/compilation.md):
// in a scratch copy of the package under build/sqlite, so that a failed build leaves the stock
// addon in place. The new addon is loaded and asked for its options before it replaces the
// stock one. A failure warns and the install goes on (the stock addon works: it is only larger).
// Skipped when node_modules/better-sqlite3 holds the addon these inputs make: its stamp names
// the inputs and the addon's own digest, so a stock addon put back is built again.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { nodeGypCommand } from "./build-native.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** What the stock addon has and ours leaves out (`PRAGMA compile_options` names). */
export const SQLITE_LEFT_OUT = ["ENABLE_FTS3", "ENABLE_FTS3_PARENTHESIS", "ENABLE_FTS4", "ENABLE_FTS5", "ENABLE_RTREE", "ENABLE_GEOPOLY", "ENABLE_DBSTAT_VTAB", "ENABLE_MATH_FUNCTIONS", "ENABLE_PERCENTILE", "SOUNDEX", "ENABLE_STAT4"];

/** The C compiler's optimisation for SQLite: size (better-sqlite3 builds it with -O3). */
export const SQLITE_CFLAGS = "-Os";

/**
 * better-sqlite3's own options (its deps/defines.gypi: `'NAME'` or `'NAME=VALUE'`), less those
 * left out, as `#define` lines: read from the package, so a define a later version adds is kept.
 */
export function definesFrom(gypi) {
  const defines = [...gypi.matchAll(/'([A-Z][A-Z0-9_]*)(?:=([^']*))?'/g)];
  if (defines.length === 0) throw new Error("better-sqlite3's deps/defines.gypi names no option");
  return defines
    .filter(([, name]) => !SQLITE_LEFT_OUT.includes(name.replace(/^SQLITE_/, "")))
    .map(([, name, value]) => `#define ${name} ${value ?? "1"}\n`)
    .join("");
}

function inputsDigest(pkg, amalgamation, defines) {
  const h = createHash("sha256");
  h.update(JSON.stringify({ defines, leftOut: SQLITE_LEFT_OUT, cflags: SQLITE_CFLAGS, version: JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")).version, node: process.version }));
  h.update(readFileSync(amalgamation));
  return h.digest("hex");
}

/**
 * How an addon's options differ from what the stock addon's less SQLITE_LEFT_OUT should give, or
 * undefined when they do not (the compiler's name aside). Also used when the Debian package is built.
 */
export function optionsDiffer(options, stockOptions) {
  const norm = (list) => list.filter((o) => !o.startsWith("COMPILER=")).sort();
  const want = norm(stockOptions.filter((o) => !SQLITE_LEFT_OUT.includes(o)));
  const got = norm(options);
  const missing = want.filter((o) => !got.includes(o));
  const extra = got.filter((o) => !want.includes(o));
  if (missing.length === 0 && extra.length === 0) return undefined;
  return [missing.length > 0 ? `without ${missing.join(", ")}` : "", extra.length > 0 ? `with ${extra.join(", ")}` : ""].filter(Boolean).join("; ");
}

/** The SHA-256 of a file's bytes. */
function fileDigest(path) {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** Writes a file whole or not at all (the addon in use, its stamp): a temporary beside it, renamed over it. */
function replaceFile(path, bytes, mode) {
  const next = `${path}.covenant`;
  rmSync(next, { force: true });
  // O_EXCL: never through whatever stood at that name (removed above)
  writeFileSync(next, bytes, { mode, flag: "wx" });
  renameSync(next, path);
}

/** The compile options an addon reports, from a child process (a failed load must not end the install). */
function compileOptions(pkg, file) {
  const probe = `const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(file)}); const Database = require(${JSON.stringify(join(pkg, "lib/database.js"))}); const db = new Database(":memory:", { nativeBinding: m.exports }); process.stdout.write(JSON.stringify(db.pragma("compile_options", { simple: false }).map((r) => r.compile_options)));`;
  const r = spawnSync(process.execPath, ["-e", probe], { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
  if (r.status !== 0) throw new Error(`the new addon does not load: ${(r.stderr || r.error?.message || "").split("\n").find((l) => /Error/.test(l)) ?? r.stderr}`);
  return JSON.parse(r.stdout);
}

/**
 * Builds and installs the addon unless it is up to date; never throws (says why it could not, and
 * whether the stock addon stayed). `pkg` is the better-sqlite3 package, `scratch` where it is built.
 */
export function buildSqlite({ pkg = join(root, "node_modules/better-sqlite3"), scratch = join(root, "build/sqlite"), warn = console.warn } = {}) {
  const addon = join(pkg, "build/Release/better_sqlite3.node");
  const stamp = join(pkg, "build/Release/covenant-sqlite.json");
  const amalgamation = join(pkg, "deps/sqlite3/sqlite3.c");
  const gypi = join(pkg, "deps/defines.gypi");
  if (!existsSync(amalgamation) || !existsSync(gypi) || !existsSync(addon)) return; // no better-sqlite3 built from source here: nothing to replace
  let defines;
  try {
    defines = definesFrom(readFileSync(gypi, "utf8"));
  } catch (err) {
    warn(`covenant: better-sqlite3's addon was not rebuilt (the stock one stays: it works, and takes ~1 MB more in every run):\n${String(err.message ?? err)}`);
    return;
  }
  const digest = inputsDigest(pkg, amalgamation, defines);
  try {
    // the stamp vouches for these inputs and for the addon beside it, by its bytes: a stock addon
    // put back over ours (`npm rebuild better-sqlite3` unpacks one and leaves the stamp) is built again
    const said = JSON.parse(readFileSync(stamp, "utf8"));
    if (said.digest === digest && said.addon === fileDigest(addon)) return;
  } catch {
    // no stamp, or a damaged one: built again
  }
  try {
    // what the new addon must have: the stock addon's options, less those left out (what the
    // defines above give, unless the amalgamation or the gypi file says otherwise)
    const stockOptions = compileOptions(pkg, addon);
    rmSync(scratch, { recursive: true, force: true });
    const source = join(scratch, "amalgamation");
    mkdirSync(source, { recursive: true });
    writeFileSync(join(source, "sqlite3.c"), `/* Covenant's options (scripts/build-sqlite.mjs) */\n${defines}\n${readFileSync(amalgamation, "latin1")}`, "latin1");
    for (const h of ["sqlite3.h", "sqlite3ext.h"]) copyFileSync(join(pkg, "deps/sqlite3", h), join(source, h));
    const copy = join(scratch, "better-sqlite3");
    for (const part of ["binding.gyp", "package.json", "src", "deps"]) cpSync(join(pkg, part), join(copy, part), { recursive: true });
    const [gyp, ...args] = nodeGypCommand();
    const r = spawnSync(gyp, [...args, "configure", "build", "--release", `--sqlite3=${source}`], { cwd: copy, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", env: { ...process.env, CFLAGS: SQLITE_CFLAGS } });
    if (r.status !== 0) throw new Error(`${r.stdout}${r.stderr}`.split("\n").filter((l) => /error|ERR!/i.test(l)).slice(0, 8).join("\n") || r.error?.message || `exit ${r.status}`);
    const built = join(copy, "build/Release/better_sqlite3.node");
    const wrong = optionsDiffer(compileOptions(pkg, built), stockOptions);
    if (wrong) throw new Error(`the new addon's options are not the stock ones less those left out: ${wrong}`);
    replaceFile(addon, readFileSync(built), 0o755);
    try {
      replaceFile(stamp, `${JSON.stringify({ digest, addon: fileDigest(addon), cflags: SQLITE_CFLAGS, leftOut: SQLITE_LEFT_OUT })}\n`);
    } catch (err) {
      warn(`covenant: better-sqlite3's addon was rebuilt without the SQLite extensions the store does not use, but its stamp could not be written (the next install builds it again):\n${String(err.message ?? err)}`);
    }
  } catch (err) {
    warn(`covenant: better-sqlite3's addon was not rebuilt without the SQLite extensions the store does not use (the stock one stays: it works, and takes ~1 MB more in every run):\n${String(err.message ?? err)}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildSqlite();
