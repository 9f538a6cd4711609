// A small ustar writer and a careful reader for evidence packs, so that a pack's `.tar.gz` is the
// same bytes for the same files (sorted entries, no owner names, uid and gid 0, a fixed time) and
// so that reading one an auditor was sent cannot write outside where it is read, follow a link, or
// exhaust memory: only regular files and directories, relative names without `..`, bounded sizes.
// Both work a piece at a time (tarSegments, TarReader): a year's pack is streamed, never held.
import { gunzipSync, gzipSync } from "node:zlib";

export interface PackFile {
  /** a relative path with `/` between its parts */
  name: string;
  bytes: Buffer;
}

export class TarError extends Error {}

const BLOCK = 512;

/**
 * The most an archive read as a stream (read.ts) unpacks to unless told otherwise: a budget of
 * time, not memory (a stream holds a piece at a time), high enough for a year of a large host group
 * (a host running every 5 minutes pushes ~1 MB a day), low enough that a gzip bomb is refused in
 * minutes rather than read for hours. `covenant evidence verify --max-unpacked` sets another.
 */
export const DEFAULT_MAX_UNPACKED = 256 * 1024 ** 3;
/** The most an archive read into memory whole (readTarGz: tests and small files) unpacks to. */
export const MAX_HELD = 1024 ** 3;
/** The most entries: a fleet's pack holds four files a host, and its policies (the names are kept to refuse one given twice). */
const MAX_ENTRIES = 500_000;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

/** ustar splits a long name into a prefix (155 bytes) and a name (100 bytes) at a slash. */
function splitName(name: string): { prefix: string; name: string } {
  if (Buffer.byteLength(name) <= 100) return { prefix: "", name };
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== "/") continue;
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest.length > 0) return { prefix, name: rest };
  }
  throw new TarError(`the name ${JSON.stringify(name.slice(0, 80))} is too long for a tar archive (at most 255 bytes, split at a slash)`);
}

function header(name: string, size: number, type: "0" | "5", mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const parts = splitName(name);
  h.write(parts.name, 0, 100, "utf8");
  h.write(octal(type === "5" ? 0o700 : 0o600, 8), 100, "ascii");
  h.write(octal(0, 8), 108, "ascii");
  h.write(octal(0, 8), 116, "ascii");
  h.write(octal(size, 12), 124, "ascii");
  h.write(octal(mtime, 12), 136, "ascii");
  h.fill(" ", 148, 156);
  h.write(type, 156, "ascii");
  h.write("ustar\0", 257, "ascii");
  h.write("00", 263, "ascii");
  h.write(parts.prefix, 345, 155, "utf8");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + " ", 148, "ascii");
  return h;
}

/** A file to archive: its name under the pack and its size (its bytes are the caller's: tarSegments names where they go). */
export interface TarEntry {
  /** a relative path with `/` between its parts */
  name: string;
  size: number;
}

/**
 * The gzip level of a pack's archive: fixed, so the same files make the same bytes (zlib's
 * default: level 9 took half as long again for 3% less).
 */
export const GZIP_LEVEL = 6;

const ZEROS = Buffer.alloc(BLOCK * 2);

/** A piece of the archive: tar headers and padding (`glue`), or a file's bytes (`content`). */
export type TarSegment<T> = { glue: Buffer } | { content: T };

/**
 * The tar of `files` under the directory `top`, as pieces: entries sorted by name, every
 * directory listed before what it holds; `emptyDirs` are listed too (a pack's `reports/` with no
 * report yet). The archive is one gzip member per piece, concatenated (RFC 1952 allows members one
 * after another, and every gunzip reads them as one stream): so a large file's member can be
 * compressed while it is written, on another core (write.ts), and the archive is the same bytes
 * however it is made. A file of no bytes has no content piece.
 */
export function* tarSegments<T extends TarEntry>(top: string, files: readonly T[], mtimeSeconds: number, emptyDirs: readonly string[] = []): Generator<TarSegment<T>> {
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const dirs = new Set<string>([top]);
  let glue: Buffer[] = [header(`${top}/`, 0, "5", mtimeSeconds)];
  for (const d of [...emptyDirs].sort()) {
    if (sorted.some((f) => f.name.startsWith(`${d}/`))) continue;
    dirs.add(`${top}/${d}`);
    glue.push(header(`${top}/${d}/`, 0, "5", mtimeSeconds));
  }
  for (const f of sorted) {
    const parts = f.name.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = `${top}/${parts.slice(0, i).join("/")}`;
      if (dirs.has(dir)) continue;
      dirs.add(dir);
      glue.push(header(`${dir}/`, 0, "5", mtimeSeconds));
    }
    glue.push(header(`${top}/${f.name}`, f.size, "0", mtimeSeconds));
    if (f.size > 0) {
      yield { glue: Buffer.concat(glue) };
      glue = [];
      yield { content: f };
    }
    const pad = (BLOCK - (f.size % BLOCK)) % BLOCK;
    if (pad > 0) glue.push(Buffer.alloc(pad));
  }
  glue.push(ZEROS);
  yield { glue: Buffer.concat(glue) };
}

/** One piece of an archive as its gzip member. */
export function gzipMember(bytes: Buffer): Buffer {
  return gzipSync(bytes, { level: GZIP_LEVEL });
}

/** A gzipped tar of files in memory (tarSegments): the same bytes the streamed archive of the same files has. */
export function writeTarGz(top: string, files: readonly PackFile[], mtimeSeconds: number, emptyDirs: readonly string[] = []): Buffer {
  const entries = files.map((f) => ({ name: f.name, size: f.bytes.length, bytes: f.bytes }));
  return Buffer.concat([...tarSegments(top, entries, mtimeSeconds, emptyDirs)].map((s) => gzipMember("glue" in s ? s.glue : s.content.bytes)));
}

function field(h: Buffer, at: number, width: number): string {
  const raw = h.subarray(at, at + width);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? width : end).toString("utf8");
}

function number(h: Buffer, at: number, width: number, what: string): number {
  const text = field(h, at, width).trim();
  if (!/^[0-7]+$/.test(text)) throw new TarError(`an entry's ${what} is not an octal number`);
  return parseInt(text, 8);
}

/** A safe relative name: no absolute path, no `..`, no empty or `.` part, no backslash or control character. */
function safeName(name: string): string {
  const trimmed = name.replace(/\/+$/, "");
  if (trimmed.startsWith("/") || /[\\\x00-\x1f\x7f]/.test(trimmed)) throw new TarError(`the entry ${JSON.stringify(name.slice(0, 80))} is not a plain relative name: refused`);
  const parts = trimmed.split("/");
  if (parts.some((p) => p === ".." || p === "." || p === "")) throw new TarError(`the entry ${JSON.stringify(name.slice(0, 80))} climbs out of the pack or is not a plain name: refused`);
  return trimmed;
}

/** Where the reader gives a regular file's bytes as they pass: `write` each piece, then `end`. */
export interface EntrySink {
  write(chunk: Buffer): void;
  end(): void;
}

const KINDS: Record<string, string> = { "1": "a hard link", "2": "a symbolic link", "3": "a character device", "4": "a block device", "6": "a FIFO", x: "an extended header", g: "a global extended header" };

/**
 * Reads a tar as its bytes arrive (`push` each piece, then `end`), giving each regular file's
 * bytes, under the archive's one top directory (stripped from the name), to the sink `onFile`
 * returns. Links, devices, FIFOs, extended headers, names that climb (`../`) or are absolute, a
 * name given twice, more than MAX_ENTRIES entries, and an entry cut short are refused with a
 * TarError naming the entry. Only the header being read is held.
 */
export class TarReader {
  private header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  private at = 0;
  private entries = 0;
  private seen = new Set<string>();
  private top: string | undefined;
  private sink: EntrySink | undefined;
  private entryName = "";
  /** bytes of the current entry's data still to come, then of its padding */
  private dataLeft = 0;
  private padLeft = 0;
  private done = false;

  constructor(private readonly onFile: (name: string, size: number) => EntrySink) {}

  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && !this.done) {
      if (this.dataLeft > 0) {
        const n = Math.min(this.dataLeft, chunk.length - i);
        this.sink?.write(chunk.subarray(i, i + n));
        this.dataLeft -= n;
        i += n;
        if (this.dataLeft === 0) this.endEntry();
      } else if (this.padLeft > 0) {
        const n = Math.min(this.padLeft, chunk.length - i);
        this.padLeft -= n;
        i += n;
      } else {
        const n = Math.min(BLOCK - this.headerFill, chunk.length - i);
        chunk.copy(this.header, this.headerFill, i, i + n);
        this.headerFill += n;
        i += n;
        if (this.headerFill === BLOCK) this.readHeader();
      }
    }
  }

  /** The archive is over: an entry whose data was cut short is refused (a partial last block, or padding cut short, is not). */
  end(): void {
    if (this.dataLeft > 0) throw new TarError(`the entry ${JSON.stringify(this.entryName)} runs past the end of the archive`);
  }

  private endEntry(): void {
    const sink = this.sink;
    this.sink = undefined;
    sink?.end();
  }

  private readHeader(): void {
    const h = this.header;
    const at = this.at;
    this.headerFill = 0;
    this.at += BLOCK;
    if (h.every((b) => b === 0)) {
      this.done = true;
      return;
    }
    if (this.entries++ >= MAX_ENTRIES) throw new TarError(`it holds more than ${MAX_ENTRIES} entries`);
    const sum = number(h, 148, 8, "checksum");
    let actual = 0;
    for (let i = 0; i < BLOCK; i++) actual += i >= 148 && i < 156 ? 32 : h[i]!;
    if (sum !== actual) throw new TarError(`the header at byte ${at} fails its checksum: the archive is corrupt`);
    const prefix = field(h, 345, 155);
    const name = safeName(prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
    const type = String.fromCharCode(h[156]!);
    const size = number(h, 124, 12, "size");
    if (this.seen.has(name)) throw new TarError(`the entry ${JSON.stringify(name)} appears twice: which copy is the pack's cannot be told, refused`);
    this.seen.add(name);
    const first = name.split("/")[0]!;
    this.top ??= first;
    if (first !== this.top) throw new TarError(`the entry ${JSON.stringify(name)} is not under the pack's one directory ${JSON.stringify(this.top)}`);
    if (type === "0" || type === "\0") {
      if (name === this.top) throw new TarError(`the entry ${JSON.stringify(name)} is a file where the pack's directory should be`);
      this.sink = this.onFile(name.slice(this.top.length + 1), size);
    } else if (type !== "5") throw new TarError(`the entry ${JSON.stringify(name)} is ${KINDS[type] ?? `of type ${JSON.stringify(type)}`}: a pack holds only files and directories, refused`);
    this.entryName = name;
    this.dataLeft = size;
    this.padLeft = (BLOCK - (size % BLOCK)) % BLOCK;
    this.at += size + this.padLeft;
    if (size === 0) this.endEntry();
  }
}

/** A sink that keeps the bytes it is given, for files read whole. */
export function keepingSink(onEnd: (bytes: Buffer) => void): EntrySink {
  const parts: Buffer[] = [];
  return { write: (c) => void parts.push(Buffer.from(c)), end: () => onEnd(Buffer.concat(parts)) };
}

/**
 * The regular files of a gzipped tar held in memory (TarReader's rules), and archives larger
 * than MAX_HELD unpacked are refused too.
 */
export function readTarGz(gz: Buffer): PackFile[] {
  let tar: Buffer;
  try {
    tar = gunzipSync(gz, { maxOutputLength: MAX_HELD });
  } catch (err) {
    throw new TarError(`it is not a gzip file that unpacks within ${MAX_HELD} bytes (${(err as NodeJS.ErrnoException).code ?? "corrupt"})`);
  }
  const files: PackFile[] = [];
  const reader = new TarReader((name) => keepingSink((bytes) => files.push({ name, bytes })));
  reader.push(tar);
  reader.end();
  return files;
}
