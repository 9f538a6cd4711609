// System-wide file handles from /proc/sys/fs/file-nr: allocated, free (always 0 since 2.6), maximum.
import { join } from "node:path";
import { fail, ok, readText, type ProbeResult, type ProbeRoots } from "./result.js";

export interface FileHandles {
  allocated: number;
  free: number;
  max: number;
  /** allocated handles as a share of the maximum, in percent */
  usedPct: number;
}

export function parse(text: string): FileHandles | undefined {
  const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(text);
  if (!m) return undefined;
  const [allocated, free, max] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (max === 0) return undefined;
  return { allocated, free, max, usedPct: ((allocated - free) / max) * 100 };
}

export function read(roots: Pick<ProbeRoots, "proc">): ProbeResult<FileHandles> {
  const path = join(roots.proc, "sys", "fs", "file-nr");
  const read = readText(path);
  if (!read.ok) return read.result;
  const text = read.text;
  const v = parse(text);
  if (v) return ok(v);
  const zeroMax = /^\s*\d+\s+\d+\s+0\s*$/.test(text);
  return fail("malformed", zeroMax ? `${path} gives a maximum of 0 handles` : `${path} does not hold three numbers: \`${text.trim().slice(0, 60)}\``, path);
}
