// Builds the native addons with node-gyp, which npm ships:
// - native/safe_fs.c → build/Release/safe_fs.node: every change to a file goes through it
//   (descriptors reached without following links; docs/evaluation.md, "The change gate").
//   Without it Covenant still observes, but refuses to repair files.
// - native/sock_diag.c → build/Release/sock_diag.node: optional; without it the connection
//   probe reads /proc/net/tcp instead (slower on hosts with many sockets, same answer).
// - native/inotify.c → build/Release/inotify.node: `covenant watch`'s inotify reader (one watch
//   per directory, and the kernel's queue overflow seen). Without it the watcher evaluates its
//   realtime promises on its rescan timer only, and says so as a deficiency.
// - native/fd_scan.c → build/Release/fd_scan.node: optional; `covenant watch`'s scan of who has
//   a changed file open, on libuv's threadpool. Without it the same scan runs in JavaScript, in
//   slices on the watcher's thread (slower, same answer).
// - native/seal.c → build/Release/seal.node: optional; the store's seals (HMAC-SHA256) in one
//   call to Node's OpenSSL each. Without it node:crypto makes them: the same bytes, slower.
// A failed build warns and lets the install go on. Skipped when the addons are newer than
// their sources.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** node-gyp as this node runs it, before its command: [node, node-gyp.js, options...]. */
export function nodeGypCommand() {
  const prefix = join(dirname(process.execPath), "..");
  // npm passes its own node-gyp and settings to lifecycle scripts; run by hand, find them
  const gyp = process.env.npm_config_node_gyp ?? join(prefix, "lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js");
  // Node's own headers, when installed beside it, spare node-gyp a download
  const nodedir = process.env.npm_config_nodedir ?? (existsSync(join(prefix, "include/node/node_api.h")) ? prefix : undefined);
  return [process.execPath, gyp, ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
}

/** Builds the addon unless it is up to date; never throws. */
export function buildNative() {
  const targets = ["build/Release/sock_diag.node", "build/Release/safe_fs.node", "build/Release/inotify.node", "build/Release/fd_scan.node", "build/Release/seal.node"].map((t) => join(root, t));
  const sources = ["native/sock_diag.c", "native/safe_fs.c", "native/inotify.c", "native/safe_walk.c", "native/fd_scan.c", "native/fd_scan_walk.c", "native/fd_scan.h", "native/seal.c", "binding.gyp"].map((s) => join(root, s));
  const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : Infinity);
  const oldest = Math.min(...targets.map((t) => (existsSync(t) ? statSync(t).mtimeMs : -Infinity)));
  if (sources.every((s) => mtime(s) <= oldest)) return;

  const [node, ...gyp] = nodeGypCommand();
  // configure + build, not rebuild: a failed build must not first delete a working addon
  const r = spawnSync(node, [...gyp, "configure", "build", "--release"], { cwd: root, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  if (r.status !== 0) {
    const detail = `${r.stdout}${r.stderr}`.split("\n").filter((l) => /error|ERR!/i.test(l)).slice(0, 8).join("\n");
    console.warn(
      `covenant: the native addons could not be built: without safe_fs, file repairs are refused (observation works); without sock_diag, the connection probe reads /proc/net/tcp; without inotify, covenant watch rescans on a timer only; without fd_scan, its holders scan runs in JavaScript; without seal, the store's seals are made by node:crypto.\n${detail || r.error?.message || ""}`,
    );
    }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildNative();
