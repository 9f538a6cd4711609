// Kernel parameters under /proc/sys, by their dotted names (`net.ipv4.ip_forward`).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fail, fromFsError, ok, type ProbeResult, type ProbeRoots } from "./result.js";

/**
 * `net.ipv4.conf.all.accept_redirects` → `net/ipv4/conf/all/accept_redirects`. As in sysctl(8),
 * a `/` inside a part stands for a `.` in the file name: `net.ipv4.conf.eth0/100.rp_filter` is
 * `net/ipv4/conf/eth0.100/rp_filter` (VLAN interfaces).
 */
export function keyToPath(key: string): string | undefined {
  if (!/^[A-Za-z0-9_*-]+(\.[A-Za-z0-9_*:/-]+)+$/.test(key) || key.includes("..") || key.split(".").some((p) => p.startsWith("/") || p.endsWith("/"))) return undefined;
  return key
    .split(".")
    .map((part) => part.replace(/\//g, "."))
    .join("/");
}

/** The value as sysctl(8) prints it: runs of white space folded to one space, no trailing newline. */
export function normalise(text: string): string {
  return text.trim().split(/\s+/).join(" ");
}

export function read(roots: Pick<ProbeRoots, "proc">, key: string): ProbeResult<string> {
  const rel = keyToPath(key);
  if (rel === undefined) return fail("malformed", `\`${key}\` is not a sysctl key`);
  const path = join(roots.proc, "sys", rel);
  try {
    return ok(normalise(readFileSync(path, "latin1")));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EISDIR") return fail("malformed", `\`${key}\` is a group of parameters, not one`, path);
    return fromFsError(err, path);
  }
}
