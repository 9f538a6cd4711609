// Turns what a probe passed over into the notes of a promise result. A shared read (every
// socket, every process) can skip many inputs for one reason, so skips are grouped by reason:
// a note per reason, not a note per process that ended while the table was read.
import type { Skip } from "../probes/result.js";

function where(s: Skip): string {
  return s.line === undefined ? s.path : `${s.path}:${s.line}`;
}

export function skipNotes(skipped: readonly Skip[]): string[] {
  const byReason = new Map<string, Skip[]>();
  for (const s of skipped) {
    const same = byReason.get(s.reason);
    if (same) same.push(s);
    else byReason.set(s.reason, [s]);
  }
  return [...byReason].map(([reason, skips]) =>
    skips.length === 1 ? `skipped ${where(skips[0]!)}: ${reason}` : `skipped ${skips.length} inputs: ${reason} (such as ${where(skips[0]!)})`,
  );
}

/** `1 connection`, `3 connections` */
export function counted(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

/** A size in bytes as people read it: `512 MiB`, `1.5 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${Number(value.toFixed(1))} ${units[unit]}`;
}

/** A measured number without a tail of float noise: 0.8333333 → `0.83`. */
export function formatNumber(n: number): string {
  return String(Number(n.toFixed(2)));
}

/** `10.0.0.1:5432`, `[::1]:5432` */
export function endpoint(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

export function portsText(ports: number[]): string {
  return ports.length === 1 ? `port ${ports[0]}` : `ports ${ports.join(", ")}`;
}
