// Kernel parameters under /proc/sys, by their dotted names (`net.ipv4.ip_forward`).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fail, fromFsError, ok, type ProbeResult, type ProbeRoots } from "./result.js";

/** `net.ipv4.conf.all.accept_redirects` → `net/ipv4/conf/all/accept_redirects`; `/` in a key part is written `.` by sysctl(8) and kept as is. */
export function keyToPath(key: string): string | undefined {
  if (!/^[A-Za-z0-9_*-]+(\.[A-Za-z0-9_*:-]+)+$/.test(key)) return undefined;
  return key.split(".").join("/");
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
