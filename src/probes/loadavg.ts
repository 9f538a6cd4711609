// Load averages from /proc/loadavg.
import { join } from "node:path";
import { fail, ok, readText, type ProbeResult, type ProbeRoots } from "./result.js";

export interface LoadAverage {
  load1: number;
  load5: number;
  load15: number;
  running: number;
  total: number;
  lastPid: number;
}

export function parse(text: string): LoadAverage | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s+(\d+)\/(\d+)\s+(\d+)\s*$/.exec(text);
  if (!m) return undefined;
  return { load1: Number(m[1]), load5: Number(m[2]), load15: Number(m[3]), running: Number(m[4]), total: Number(m[5]), lastPid: Number(m[6]) };
}

export function read(roots: Pick<ProbeRoots, "proc">): ProbeResult<LoadAverage> {
  const path = join(roots.proc, "loadavg");
  const read = readText(path);
  if (!read.ok) return read.result;
  const v = parse(read.text);
  return v ? ok(v) : fail("malformed", `${path} is not in the kernel's format: \`${read.text.trim().slice(0, 60)}\``, path);
}
