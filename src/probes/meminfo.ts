// Memory counters from /proc/meminfo, in bytes.
import { join } from "node:path";
import { fail, ok, readText, type ProbeResult, type ProbeRoots, type Skip } from "./result.js";

export function parse(text: string, path = "/proc/meminfo"): { values: Map<string, number>; skipped: Skip[] } {
  const values = new Map<string, number>();
  const skipped: Skip[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+(kB))?\s*$/.exec(line);
    if (!m) {
      skipped.push({ path, line: i + 1, reason: "expected `Key: value [kB]`" });
      return;
    }
    values.set(m[1]!, Number(m[2]) * (m[3] ? 1024 : 1));
  });
  return { values, skipped };
}

export interface Memory {
  totalBytes: number;
  availableBytes: number;
  values: Map<string, number>;
}

export function read(roots: Pick<ProbeRoots, "proc">): ProbeResult<Memory> {
  const path = join(roots.proc, "meminfo");
  const read = readText(path);
  if (!read.ok) return read.result;
  const { values, skipped } = parse(read.text, path);
  const total = values.get("MemTotal");
  const available = values.get("MemAvailable");
  if (total === undefined || available === undefined) return fail("malformed", `${path} has no MemTotal or MemAvailable`, path);
  return ok({ totalBytes: total, availableBytes: available, values }, skipped);
}
