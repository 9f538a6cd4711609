// Builds the Debian package (docs/install.md): the files `npm pack` ships, the production
// modules the bundle loads at run time, the native addons as built here, and the Node runtime
// this script runs on, which the package carries to /usr/lib/covenant/node (Debian 12's own
// nodejs is older than Covenant needs). Its postinst builds the start-up snapshot for that
// runtime. Run after `npm ci` (or `npm run build`): it packages the build in the tree, it does
// not build it; `npm run package:deb` does both.
//
//   node scripts/build-deb.mjs [--out DIR] [--compress xz|zstd|gzip|none]
//
// Same tree, same runtime, same SOURCE_DATE_EPOCH (default: the time of the last commit) → the
// same files with the same modes and times, in the same order: the same data.tar.
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { copyRuntimeModules } from "./deb/modules.mjs";
import { controlFile, cronFile, shlibsDepends } from "./deb/control.mjs";
import { SQLITE_LEFT_OUT } from "./build-sqlite.mjs";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const lib = "usr/lib/covenant";

class BuildError extends Error {}

function parseArgs(argv) {
  const opts = { out: join(repo, "build/deb"), compress: "xz" };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = () => inline ?? argv[++i] ?? "";
    if (flag === "--out") opts.out = value();
    else if (flag === "--compress") opts.compress = value();
    else throw new BuildError(`unknown option ${argv[i]} (usage: build-deb.mjs [--out DIR] [--compress xz|zstd|gzip|none])`);
  }
  if (!["xz", "zstd", "gzip", "none"].includes(opts.compress)) throw new BuildError(`--compress must be xz, zstd, gzip or none, not \`${opts.compress}\``);
  return opts;
}

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 26, ...options });
  if (r.error?.code === "ENOENT") throw new BuildError(`${cmd} is not installed (docs/install.md lists what the package build needs)`);
  if (r.status !== 0) throw new BuildError(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/** Whether `version` satisfies an engines range made of `^x.y.z` and `>=x.y.z` alternatives. */
export function satisfies(version, range) {
  const parse = (v) => v.split(".").map(Number);
  const atLeast = (a, b) => a[0] !== b[0] ? a[0] > b[0] : a[1] !== b[1] ? a[1] > b[1] : a[2] >= b[2];
  const v = parse(version);
  return range.split("||").some((alternative) => {
    const m = /^\s*(\^|>=)\s*(\d+\.\d+\.\d+)\s*$/.exec(alternative);
    if (!m) throw new BuildError(`cannot read \`${alternative.trim()}\` in package.json's engines`);
    const min = parse(m[2]);
    return atLeast(v, min) && (m[1] === ">=" || v[0] === min[0]);
  });
}

/** The runtime must satisfy package.json's engines: it is the one the package carries. */
function checkRuntime(pkg) {
  if (!satisfies(process.versions.node, pkg.engines.node)) {
    throw new BuildError(`node ${process.versions.node} (${process.execPath}) does not satisfy engines ${pkg.engines.node}: the package carries the node that builds it`);
  }
}

/** What `npm pack` ships, by path relative to the repository. */
function npmFiles() {
  const out = run("npm", ["pack", "--dry-run", "--ignore-scripts", "--json"], { cwd: repo });
  return JSON.parse(out)[0].files.map((f) => f.path).sort();
}

/** Where each file `npm pack` ships goes in the package; null: not shipped (the addons' sources and build scripts: they are shipped built). */
function destination(path) {
  if (path === "README.md") return "usr/share/doc/covenant/README.md";
  if (path.startsWith("docs/")) return `usr/share/doc/covenant/${path}`;
  if (path.startsWith("examples/") || path.startsWith("policies/")) return `usr/share/covenant/${path}`;
  if (path === "binding.gyp" || path.startsWith("native/") || path === "scripts/build-native.mjs" || path === "scripts/build-sqlite.mjs") return null;
  return `${lib}/${path}`;
}

function copyInto(stage, from, to, mode) {
  const target = join(stage, to);
  mkdirSync(dirname(target), { recursive: true });
  cpSync(from, target, { dereference: true });
  if (mode !== undefined) chmodSync(target, mode);
}

/**
 * The addons must load in the runtime the package carries: built by `npm ci` under another node
 * (another ABI), they would fail on every host. Checked with the staged copies.
 */
function checkAddons(dir) {
  const probe = `require(${JSON.stringify(join(dir, "build/Release/sock_diag.node"))});
require(${JSON.stringify(join(dir, "build/Release/safe_fs.node"))});
require(${JSON.stringify(join(dir, "build/Release/inotify.node"))});
require(${JSON.stringify(join(dir, "build/Release/fd_scan.node"))});
require(${JSON.stringify(join(dir, "build/Release/seal.node"))});
const db = new (require(${JSON.stringify(join(dir, "node_modules/better-sqlite3"))}))(":memory:");
db.prepare("select 1").get();
process.stdout.write(JSON.stringify(db.pragma("compile_options", { simple: false }).map((r) => r.compile_options)));`;
  const r = spawnSync(join(dir, "node/bin/node"), ["-e", probe], { encoding: "utf8" });
  if (r.status !== 0) throw new BuildError(`the native addons do not load in node ${process.versions.node}: run \`npm ci\` with this node first\n${r.stderr.trim()}`);
  // the store's SQLite as the install rebuilds it (scripts/build-sqlite.mjs), never the stock one
  const extensions = JSON.parse(r.stdout).filter((o) => SQLITE_LEFT_OUT.includes(o));
  if (extensions.length > 0) throw new BuildError(`better-sqlite3's addon is the stock one (${extensions.join(", ")}): \`npm ci\` warned why it could not rebuild it; run \`node scripts/build-sqlite.mjs\` and build again`);
}

/** The Node runtime's licence, from where its installers put it. */
function nodeLicense(node) {
  const prefix = join(dirname(node), "..");
  const found = ["LICENSE", "share/doc/node/LICENSE", "share/doc/nodejs/LICENSE"].map((p) => join(prefix, p)).find((p) => existsSync(p));
  if (!found) throw new BuildError(`cannot find the licence of ${node} (looked in ${prefix}/LICENSE and ${prefix}/share/doc/{node,nodejs}/LICENSE)`);
  return found;
}

function stageFiles(stage) {
  const required = ["dist/covenant.js", "dist/snapshot/entry.cjs", "dist/snapshot/run.cjs", "dist/chunks/re2js.cjs", "dist/chunks/nodemailer.cjs", "dist/chunks/twilio.cjs", "build/Release/sock_diag.node", "build/Release/safe_fs.node", "build/Release/inotify.node", "build/Release/fd_scan.node", "build/Release/seal.node"];
  for (const path of required) if (!existsSync(join(repo, path))) throw new BuildError(`${path} is missing: run \`npm ci\` (or \`npm run build\`) first`);
  for (const path of npmFiles()) {
    const to = destination(path);
    if (to) copyInto(stage, join(repo, path), to);
  }
  // safe_fs: every file change (and the hard stop) goes through it; sock_diag: the fast connection probe;
  // inotify: the watcher's events; fd_scan: the watcher's holders scan, off its thread
  for (const addon of ["safe_fs", "sock_diag", "inotify", "fd_scan", "seal"]) copyInto(stage, join(repo, `build/Release/${addon}.node`), `${lib}/build/Release/${addon}.node`);
  copyRuntimeModules(repo, join(stage, lib), BuildError);

  const node = realpathSync(process.execPath);
  copyInto(stage, node, `${lib}/node/bin/node`, 0o755);
  copyInto(stage, nodeLicense(node), `${lib}/node/LICENSE`);
  checkAddons(join(stage, lib));

  mkdirSync(join(stage, "usr/bin"), { recursive: true });
  symlinkSync(`../lib/covenant/bin/covenant`, join(stage, "usr/bin/covenant"));
  mkdirSync(join(stage, "etc/covenant/policies"), { recursive: true });
  mkdirSync(join(stage, "etc/cron.d"), { recursive: true });
  writeFileSync(join(stage, "etc/cron.d/covenant"), cronFile(readFileSync(join(repo, "examples/cron/covenant"), "utf8")));
  for (const unit of ["covenant.service", "covenant.timer", "covenant-verify.service", "covenant-verify.timer", "covenant-watch.service"]) {
    copyInto(stage, join(repo, "examples/systemd", unit), `lib/systemd/system/${unit}`);
  }
  copyInto(stage, join(repo, "packaging/debian/copyright"), "usr/share/doc/covenant/copyright");
  symlinkSync("../../covenant/examples", join(stage, "usr/share/doc/covenant/examples"));
  return node;
}

/** Modes and times that depend on nothing but the inputs: 0755 directories and executables, 0644 the rest. */
function normalise(dir, epoch) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    if (st.isSymbolicLink()) continue;
    if (st.isDirectory()) {
      normalise(path, epoch);
      chmodSync(path, 0o755);
    } else {
      // shared objects (the addons) are not programs: 0644, as Debian policy has it
      chmodSync(path, st.mode & 0o111 && !name.endsWith(".node") ? 0o755 : 0o644);
    }
    utimesSync(path, epoch, epoch);
  }
}

function installedSizeKiB(dir) {
  let kib = 0;
  for (const name of readdirSync(dir)) {
    const st = lstatSync(join(dir, name));
    kib += st.isDirectory() ? 1 + installedSizeKiB(join(dir, name)) : Math.max(1, Math.ceil(st.size / 1024));
  }
  return kib;
}

function sourceDateEpoch() {
  if (process.env.SOURCE_DATE_EPOCH) return Number(process.env.SOURCE_DATE_EPOCH);
  const r = spawnSync("git", ["log", "-1", "--format=%ct"], { cwd: repo, encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() ? Number(r.stdout.trim()) : 0;
}

export function buildDeb(argv) {
  const opts = parseArgs(argv);
  const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8"));
  checkRuntime(pkg);
  const arch = run("dpkg", ["--print-architecture"]).trim();
  mkdirSync(opts.out, { recursive: true });
  const work = mkdtempSync(join(opts.out, ".stage-"));
  try {
    const stage = join(work, "root");
    const node = stageFiles(stage);
    const size = installedSizeKiB(stage);
    const epoch = sourceDateEpoch();
    mkdirSync(join(stage, "DEBIAN"));
    for (const script of ["postinst", "prerm", "postrm"]) copyInto(stage, join(repo, "packaging/debian", script), `DEBIAN/${script}`, 0o755);
    writeFileSync(join(stage, "DEBIAN/conffiles"), "/etc/cron.d/covenant\n");
    const depends = shlibsDepends(work, [`${lib}/node/bin/node`, `${lib}/node_modules/better-sqlite3/build/Release/better_sqlite3.node`, `${lib}/build/Release/sock_diag.node`, `${lib}/build/Release/safe_fs.node`, `${lib}/build/Release/inotify.node`, `${lib}/build/Release/fd_scan.node`, `${lib}/build/Release/seal.node`].map((p) => join(stage, p)), run, opts.out);
    writeFileSync(join(stage, "DEBIAN/control"), controlFile({ pkg, arch, depends, installedSize: size, nodeVersion: process.versions.node, maintainer: maintainer() }));
    normalise(stage, epoch);
    chmodSync(stage, 0o755);
    utimesSync(stage, epoch, epoch);
    const deb = join(opts.out, `covenant_${pkg.version}_${arch}.deb`);
    const compress = opts.compress === "none" ? ["-Znone"] : [`-Z${opts.compress}`];
    run("dpkg-deb", ["--root-owner-group", ...compress, "--build", stage, deb], { env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) } });
    const shown = relative(process.cwd(), deb).startsWith("..") ? deb : relative(process.cwd(), deb);
    console.log(`${shown}: ${(statSync(deb).size / 1048576).toFixed(1)} MiB (${statSync(deb).size} bytes; installed ${(size / 1024).toFixed(1)} MiB; node ${process.versions.node} from ${node})`);
    return deb;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function maintainer() {
  if (process.env.DEBFULLNAME && process.env.DEBEMAIL) return `${process.env.DEBFULLNAME} <${process.env.DEBEMAIL}>`;
  const r = spawnSync("git", ["log", "-1", "--format=%an <%ae>"], { cwd: repo, encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : "Covenant maintainers <root@localhost>";
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    buildDeb(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof BuildError)) throw err;
    console.error(`build-deb: ${err.message}`);
    process.exitCode = 2;
  }
}
