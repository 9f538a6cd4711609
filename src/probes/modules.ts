// Loaded kernel modules, from /proc/modules (what lsmod(8) prints).
import { join } from "node:path";
import { fail, ok, readText, type ProbeResult, type ProbeRoots, type Skip } from "./result.js";

export interface LoadedModule {
  /** as the kernel names it: always with `_`, never `-` */
  name: string;
  /** bytes of memory it takes */
  size: number;
  /** how many users hold it (lsmod's "Used by" count) */
  refcount: number;
  /** the modules that use it */
  usedBy: string[];
  /** Live, Loading or Unloading */
  state: string;
  /** taint flags such as `(OE)` for an out-of-tree, unsigned module; absent when none */
  taints?: string;
}

/**
 * A module name as kmod compares it: `-` and `_` are one character (modprobe(8)), so
 * `usb-storage` is `usb_storage`.
 */
export function canonicalModule(name: string): string {
  return name.replace(/-/g, "_");
}

/** Module names as the kernel and kmod accept them: no `/`, no white space, no leading `-`. */
export function isModuleName(name: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9_-]*$/.test(name) && name.length <= 64;
}

/**
 * One line per module: `name size refcount used_by state address [taints]`, where used_by is
 * `-` or a comma-separated list with a trailing comma (`nf_nat,xt_conntrack,`).
 */
export function parse(text: string, path = "/proc/modules"): { modules: LoadedModule[]; skipped: Skip[] } {
  const modules: LoadedModule[] = [];
  const skipped: Skip[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const f = line.trim().split(/\s+/);
    const [name, size, refcount, usedBy, state] = f;
    if (f.length < 6 || !isModuleName(name!) || !/^\d+$/.test(size!) || !/^-?\d+$/.test(refcount!)) {
      skipped.push({ path, line: i + 1, reason: "not a module line (name size refcount used_by state address)" });
      return;
    }
    const m: LoadedModule = { name: name!, size: Number(size), refcount: Number(refcount), usedBy: usedBy === "-" ? [] : usedBy!.split(",").filter((u) => u !== "" && u !== "[permanent]"), state: state! };
    if (f.length > 6) m.taints = f.slice(6).join(" ");
    modules.push(m);
  });
  return { modules, skipped };
}

export function read(roots: Pick<ProbeRoots, "proc">): ProbeResult<LoadedModule[]> {
  const path = join(roots.proc, "modules");
  const r = readText(path);
  if (!r.ok) {
    // a kernel built without module support has no /proc/modules: nothing can be loaded, and nothing is
    if (!r.result.ok && r.result.error.code === "not-found") return fail("unavailable", `${path} does not exist: this kernel has no loadable modules, or /proc is not the host's`, path);
    return r.result;
  }
  const parsed = parse(r.text, path);
  return ok(parsed.modules, parsed.skipped);
}
