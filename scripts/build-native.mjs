// Builds the optional native addon (native/sock_diag.c → build/Release/sock_diag.node) with
// node-gyp, which npm ships. Optional: without it the connection probe reads /proc/net/tcp
// instead (slower on hosts with many sockets, same answer), so a failed build warns and lets
// the install go on. Skipped when the addon is newer than its sources.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Builds the addon unless it is up to date; never throws. */
export function buildNative() {
  const target = join(root, "build/Release/sock_diag.node");
  const sources = ["native/sock_diag.c", "binding.gyp"].map((s) => join(root, s));
  const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : Infinity);
  if (existsSync(target) && sources.every((s) => mtime(s) <= mtime(target))) return;

  const prefix = join(dirname(process.execPath), "..");
  // npm passes its own node-gyp and settings to lifecycle scripts; run by hand, find them
  const gyp = process.env.npm_config_node_gyp ?? join(prefix, "lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js");
  // configure + build, not rebuild: a failed build must not first delete a working addon
  const args = [gyp, "configure", "build", "--release"];
  // Node's own headers, when installed beside it, spare node-gyp a download
  const nodedir = process.env.npm_config_nodedir ?? (existsSync(join(prefix, "include/node/node_api.h")) ? prefix : undefined);
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  if (r.status !== 0) {
    const detail = `${r.stdout}${r.stderr}`.split("\n").filter((l) => /error|ERR!/i.test(l)).slice(0, 8).join("\n");
    console.warn(`covenant: the native sock_diag addon could not be built; the connection probe will read /proc/net/tcp instead.\n${detail || r.error?.message || ""}`);
    }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildNative();
