// Mounts from /proc/self/mountinfo (proc(5)): mount point, source, file system type and options.
import { join } from "node:path";
import { ok, readText, type ProbeResult, type ProbeRoots, type Skip } from "./result.js";

export interface Mount {
  id: number;
  parentId: number;
  major: number;
  minor: number;
  root: string;
  mountPoint: string;
  /** per-mount options (`rw`, `nosuid`, `nodev`, `noexec`, `relatime`, ...) */
  options: string[];
  fsType: string;
  source: string;
  /** per-superblock options */
  superOptions: string[];
}

/** Paths in mountinfo escape space, tab, newline and backslash as octal (`\040`). */
export function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parse(text: string, path = "/proc/self/mountinfo"): { mounts: Mount[]; skipped: Skip[] } {
  const mounts: Mount[] = [];
  const skipped: Skip[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const f = line.split(" ");
    const sep = f.indexOf("-", 6);
    const dev = /^(\d+):(\d+)$/.exec(f[2] ?? "");
    if (sep === -1 || f.length < sep + 3 || !dev || !/^\d+$/.test(f[0]!) || !/^\d+$/.test(f[1]!)) {
      skipped.push({ path, line: i + 1, reason: "not in mountinfo's format" });
      return;
    }
    mounts.push({
      id: Number(f[0]),
      parentId: Number(f[1]),
      major: Number(dev[1]),
      minor: Number(dev[2]),
      root: unescapeOctal(f[3]!),
      mountPoint: unescapeOctal(f[4]!),
      options: f[5]!.split(","),
      fsType: f[sep + 1]!,
      source: unescapeOctal(f[sep + 2]!),
      superOptions: (f[sep + 3] ?? "").split(",").filter(Boolean),
    });
  });
  return { mounts, skipped };
}

export function read(roots: Pick<ProbeRoots, "proc">): ProbeResult<Mount[]> {
  const path = join(roots.proc, "self", "mountinfo");
  // mount points may hold UTF-8 names (only space, tab, newline and backslash are escaped)
  const read = readText(path, "utf8");
  if (!read.ok) return read.result;
  const { mounts, skipped } = parse(read.text, path);
  return ok(mounts, skipped);
}

/** The mount a path is on: the last mounted of the longest mount points that contain it. */
export function mountOf(mounts: Mount[], path: string): Mount | undefined {
  let best: Mount | undefined;
  for (const m of mounts) {
    const mp = m.mountPoint;
    const inside = path === mp || mp === "/" || path.startsWith(`${mp}/`);
    if (inside && (!best || mp.length >= best.mountPoint.length)) best = m;
  }
  return best;
}
