// The descriptor half of the holders scan (file-holders.ts): every process's open descriptors
// matched against the files sought, by device and inode, and a file deleted or replaced since it
// was opened by its former name (the rule and its conditions: file-holders.ts). One pass serves
// all the files of a batch. Inode numbers are compared exactly, as their decimal text, as bigints,
// or as numbers only below 2^53: above it (overlayfs with xino) a double would take a neighbour
// for the file sought.
//
// Two engines, one answer: native/fd_scan.c on libuv's threadpool (the watcher's thread is free
// while it runs, and each stat is one system call relative to a directory descriptor), and this
// file's JavaScript when the addon is missing, which gives the event loop a turn every few
// milliseconds so that a scan of a big host delays other work by a slice, not by the scan.
import { availableParallelism, constants } from "node:os";
import { lstatSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { fdScan, type FdScanHolder, type FdScanResult } from "../native/fd-scan.js";
import { identityOfPath, inodeNumber } from "./file-identity.js";
import type { ProbeRoots } from "./result.js";

/** A file sought: its path (as the caller names it) and the file now there, when any (dev and ino both, or neither). */
export interface SoughtFile {
  path: string;
  dev?: number;
  /** the inode number in decimal, every digit (FileIdentity's) */
  ino?: string;
}

export interface OpenMatch {
  pid: number;
  path: string;
  deleted: boolean;
}

export type ScanEngine = "native" | "js";

export interface DescriptorScanOptions {
  /** stop looking at further processes after this long (ms): the notes then say how many were not */
  budgetMs?: number;
  /** the JavaScript engine's clock for the budget (tests) */
  now?: () => number;
  /** which engine (tests, bench/who); by default the native one when built */
  engine?: ScanEngine;
  /** the native engine's threads (defaultThreads() when not given) */
  threads?: number;
}

export interface DescriptorScan {
  matches: OpenMatch[];
  /** the native scan's: each holder's files, read through the directory scanned (file-holders.ts parses them) */
  holders?: Map<number, FdScanHolder>;
  processes: number;
  descriptors: number;
  engine: ScanEngine;
}

/** The JavaScript engine gives the event loop a turn after this long, ms. */
const SLICE_MS = 4;

/**
 * The native scan's threads: the stat calls are the kernel's work and spread over processors,
 * but one processor is left to the event loop (the evaluation runs while the scan does); at
 * most 4.
 */
export function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/** The engine a scan with these options uses. */
export function scanEngine(opts: Pick<DescriptorScanOptions, "engine"> = {}): ScanEngine {
  return opts.engine ?? (fdScan() ? "native" : "js");
}

/** Every process's descriptors matched against `targets`; what could not be looked at goes to `notes`. Never rejects. */
export async function scanDescriptors(roots: Pick<ProbeRoots, "proc">, targets: readonly SoughtFile[], opts: DescriptorScanOptions, notes: string[]): Promise<DescriptorScan> {
  const addon = fdScan();
  if (scanEngine(opts) === "native" && addon) {
    let r: FdScanResult;
    try {
      r = await addon.scan(roots.proc.startsWith("/") ? roots.proc : `${process.cwd()}/${roots.proc}`, targets, opts.budgetMs ?? -1, opts.threads ?? defaultThreads());
    } catch (err) {
      notes.push(`the descriptor scan failed (${err instanceof Error ? err.message : String(err)}): no open descriptors found`);
      return { matches: [], processes: 0, descriptors: 0, engine: "native" };
    }
    return fromNative(r, targets, opts, notes);
  }
  return scanInJs(roots, targets, opts, notes);
}

function errnoName(errno: number): string {
  return Object.entries(constants.errno).find(([, n]) => n === errno)?.[0] ?? `errno ${errno}`;
}

function budgetNote(budgetMs: number | undefined, processes: number, listed: number): string {
  return `descriptor scan stopped after ${budgetMs} ms: ${listed - processes} of ${listed} processes not looked at`;
}

function deniedNote(denied: number): string {
  return `${denied} process${denied === 1 ? "'s" : "es'"} descriptors could not be listed (another user's: run as root)`;
}

function fromNative(r: FdScanResult, targets: readonly SoughtFile[], opts: DescriptorScanOptions, notes: string[]): DescriptorScan {
  if (r.listError !== 0) {
    notes.push(`the processes cannot be listed (${errnoName(r.listError)}): no open descriptors found`);
    return { matches: [], processes: 0, descriptors: 0, engine: "native" };
  }
  if (r.stopped) notes.push(budgetNote(opts.budgetMs, r.processes, r.listed));
  if (r.denied > 0) notes.push(deniedNote(r.denied));
  const matches: OpenMatch[] = [];
  for (let i = 0; i + 2 < r.matches.length; i += 3) {
    const t = targets[r.matches[i + 1]!];
    if (t) matches.push({ pid: r.matches[i]!, path: t.path, deleted: r.matches[i + 2] === 1 });
  }
  return { matches, holders: new Map(r.holders.map((h) => [h.pid, h])), processes: r.processes, descriptors: r.descriptors, engine: "native" };
}

/** A turn for the event loop once a slice is used up. */
export class Slicer {
  private sliceStart = performance.now();
  async maybeYield(): Promise<void> {
    if (performance.now() - this.sliceStart < SLICE_MS) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.sliceStart = performance.now();
  }
}

/**
 * The JavaScript engine. A process gone or unreadable midway is passed over (counted in notes
 * when it is unreadable rather than gone).
 */
async function scanInJs(roots: Pick<ProbeRoots, "proc">, targets: readonly SoughtFile[], opts: DescriptorScanOptions, notes: string[]): Promise<DescriptorScan> {
  const now = opts.now ?? Date.now;
  const started = now();
  const slicer = new Slicer();
  const byFile = new Map<string, string[]>();
  const byName = new Map<string, SoughtFile>();
  const matches: OpenMatch[] = [];
  const malformed = targets.find((t) => !wellFormed(t));
  if (malformed) {
    // as the native scan refuses it (a TypeError): an inode given otherwise than as its exact text matches nothing safely
    notes.push(`the descriptor scan failed (a file sought is not { path, dev: number, ino: decimal text } or { path }): no open descriptors found`);
    return { matches, processes: 0, descriptors: 0, engine: "js" };
  }
  for (const t of targets) {
    byName.set(t.path, t);
    if (t.dev !== undefined && t.ino !== undefined) byFile.set(`${t.dev}:${t.ino}`, [...(byFile.get(`${t.dev}:${t.ino}`) ?? []), t.path]);
  }
  let pids: string[];
  try {
    pids = readdirSync(roots.proc).filter((n) => /^\d+$/.test(n));
  } catch (err) {
    notes.push(`the processes cannot be listed (${(err as NodeJS.ErrnoException).code ?? String(err)}): no open descriptors found`);
    return { matches, processes: 0, descriptors: 0, engine: "js" };
  }
  let denied = 0;
  let descriptors = 0;
  let processes = 0;
  // the inodes sought, to pass over almost every descriptor with one comparison (its text made only on a hit)
  const inodes = new Set(targets.flatMap((t) => (t.ino === undefined ? [] : [exactInode(t.ino)])));
  const prefix = roots.proc.endsWith("/") ? roots.proc : `${roots.proc}/`;
  // the watcher's own mount namespace: a deleted file is matched by name only in it (matchDeleted)
  const ownNamespace = mountNamespace(prefix, "self");
  for (const pid of pids) {
    if (opts.budgetMs !== undefined && now() - started > opts.budgetMs) {
      notes.push(budgetNote(opts.budgetMs, processes, pids.length));
      break;
    }
    await slicer.maybeYield();
    processes++;
    const fdDir = `${prefix}${pid}/fd/`;
    let fds: string[];
    try {
      // as the native scan: a pid or fd directory that is a link (a fixture's) is not entered
      if (!lstatSync(`${prefix}${pid}`).isDirectory() || !lstatSync(fdDir.slice(0, -1)).isDirectory()) continue;
      fds = readdirSync(fdDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") denied++;
      continue;
    }
    for (const [i, fd] of fds.entries()) {
      if (i % 256 === 255) await slicer.maybeYield();
      descriptors++;
      const link = fdDir + fd;
      const file = statDescriptor(link);
      if (!file) continue; // closed between listing and reading, or a file this process cannot reach
      if (inodes.has(file.ino)) for (const path of byFile.get(`${file.dev}:${file.ino}`) ?? []) matches.push({ pid: Number(pid), path, deleted: false });
      if (file.nlink === 0 && byName.size > 0) matchDeleted(link, file, byName, Number(pid), matches, ownNamespace, prefix);
    }
  }
  if (denied > 0) notes.push(deniedNote(denied));
  return { matches, processes, descriptors, engine: "js" };
}

/** What a descriptor reaches: its device, inode number (exact: a number below 2^53, a bigint from it up) and link count. */
interface DescriptorFile {
  dev: number;
  ino: number | bigint;
  nlink: number;
}

/** An inode number's decimal text in the form statDescriptor gives it: a number below 2^53, a bigint from it up. */
function exactInode(text: string): number | bigint {
  const ino = BigInt(text);
  return ino <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(ino) : ino;
}

/**
 * The file a descriptor's link reaches (stat follows it), or undefined (closed since it was
 * listed, or unreachable). The number form first, which costs less (measured: bench/README.md,
 * bench/who) and is exact below 2^53; a number at or above it may be a neighbour's rounded
 * (overlayfs with xino), and the link is stat'ed again for every digit.
 */
function statDescriptor(link: string): DescriptorFile | undefined {
  try {
    const st = statSync(link, { throwIfNoEntry: false });
    if (!st) return undefined;
    if (st.ino <= Number.MAX_SAFE_INTEGER) return { dev: st.dev, ino: st.ino, nlink: st.nlink };
    const exact = statSync(link, { bigint: true, throwIfNoEntry: false });
    return exact && { dev: Number(exact.dev), ino: inodeNumber(exact), nlink: Number(exact.nlink) };
  } catch {
    return undefined;
  }
}

const INODE_TEXT = /^(?:0|[1-9][0-9]{0,19})$/;

/** A target as the native scan takes it: dev and ino both (ino the canonical decimal text of a 64-bit number) or neither. */
function wellFormed(t: SoughtFile): boolean {
  if (t.dev === undefined && t.ino === undefined) return true;
  return typeof t.dev === "number" && typeof t.ino === "string" && INODE_TEXT.test(t.ino) && BigInt(t.ino) < 2n ** 64n;
}

/**
 * The mount namespace of a process (the inode number of /proc/PID/ns/mnt, followed, in decimal:
 * every digit, as the native scan compares it), or undefined when it cannot be read (a fixture
 * /proc, a process gone).
 */
function mountNamespace(proc: string, pid: string): string | undefined {
  try {
    return identityOfPath(`${proc}${pid}/ns/mnt`, true).ino;
  } catch {
    return undefined;
  }
}

/**
 * A descriptor on a file with no links left, whose former name is a target on the target's file
 * system, held by a process that sees the watcher's mounts. The former name is a path in the
 * holder's mount namespace: a user may make one of their own (unshare -Urm) and bind their
 * directory over the watched one, so that a file of theirs, opened and removed, reads
 * "/srv/ledger.dat (deleted)" on the same file system.
 */
function matchDeleted(link: string, file: DescriptorFile, byName: Map<string, SoughtFile>, pid: number, matches: OpenMatch[], ownNamespace: string | undefined, proc: string): void {
  if (ownNamespace !== undefined && mountNamespace(proc, String(pid)) !== ownNamespace) return;
  let text: string;
  try {
    text = readlinkSync(link);
  } catch {
    return;
  }
  const name = deletedName(text);
  const t = name === undefined ? undefined : byName.get(name);
  // not the file now at the path: told by every digit of its number (a neighbour's rounds to the same double)
  if (!t || (t.dev !== undefined && t.dev !== file.dev) || (t.ino !== undefined && t.ino === String(file.ino))) return;
  matches.push({ pid, path: t.path, deleted: true });
}

const DELETED = " (deleted)";

/**
 * The path a descriptor's link text names when the file was deleted or replaced since it was
 * opened, or undefined: "/srv/a (deleted)" → "/srv/a". The text alone proves nothing (a file
 * may be named so): the caller checks the file's link count.
 */
export function deletedName(linkText: string): string | undefined {
  return linkText.startsWith("/") && linkText.endsWith(DELETED) ? linkText.slice(0, -DELETED.length) : undefined;
}
