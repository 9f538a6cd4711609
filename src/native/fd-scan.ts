// The holders scan on libuv's threadpool (native/fd_scan.c, built by `npm install`): every
// process's descriptors stat'ed relative to directory descriptors, off the watcher's thread.
// Optional: without it src/probes/fd-scan.ts scans in JavaScript, in slices (same answer, slower).
import { requireAddon } from "./addon.js";

/** A file sought: `dev` and `ino` both (the file at the path), or neither; else scan throws a TypeError. */
export interface FdScanTarget {
  path: string;
  dev?: number;
  /** the inode number in decimal, every digit, no leading zero (a number would round it above 2^53; file-identity.ts) */
  ino?: string;
}

/** A process holding a target: its files as read through the directory scanned (UTF-8); each absent when it could not be read (the process ended). */
export interface FdScanHolder {
  pid: number;
  stat?: string;
  status?: string;
  cmdline?: string;
  /** the exe link's text (absent: a kernel thread, a zombie, or not readable) */
  exe?: string;
  /** stat again, after the others: a process that ended or ran another program meanwhile is seen */
  statAfter?: string;
}

export interface FdScanResult {
  /** three numbers a match, in pid order: the pid, the index of the target, 1 when matched by the former name of a file with no links left (else 0) */
  matches: Float64Array;
  /** one for each process with a match */
  holders: FdScanHolder[];
  /** processes looked at */
  processes: number;
  /** processes listed in the /proc root */
  listed: number;
  descriptors: number;
  /** processes whose descriptors could not be listed (not gone: refused) */
  denied: number;
  /** the budget ran out: listed − processes were not looked at */
  stopped: boolean;
  /** errno when the /proc root could not be listed, else 0 */
  listError: number;
}

export interface FdScanAddon {
  /** budgetMs < 0: no budget; threads: 1 to 16, taking the processes one at a time */
  scan(procRoot: string, targets: readonly FdScanTarget[], budgetMs: number, threads: number): Promise<FdScanResult>;
}

let addon: FdScanAddon | null | undefined;
let whyUnavailable = "";

/** The addon, or null (the reason in fdScanUnavailableReason()); looked for beside the bundle and beside the sources. */
export function fdScan(): FdScanAddon | null {
  if (addon !== undefined) return addon;
  if (process.env["COVENANT_NO_FD_SCAN"]) {
    whyUnavailable = "COVENANT_NO_FD_SCAN is set";
    return (addon = null);
  }
  const found = requireAddon<FdScanAddon>("fd_scan.node", import.meta.url);
  if ("addon" in found) return (addon = found.addon);
  whyUnavailable = `the native addon fd_scan is not built (${found.failures})`;
  return (addon = null);
}

export function fdScanUnavailableReason(): string {
  fdScan();
  return whyUnavailable;
}
