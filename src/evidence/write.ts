// Writes a pack as it is made: the directory PACK (new, or empty and the caller's own), each file
// streamed in chunks to a new file under a random name nobody can have planted (created
// exclusively, never through a link, owner-only) and linked into place whole when it ends; and,
// as each chunk is written, compressed on a second thread into the file's gzip member of the
// archive (compressor.ts), kept in a file made the same way beside PACK. Then PACK.tar.gz, made
// the same way, is the tar's headers (compressed here, they are small) and those members, in
// order (tar.ts tarSegments): the archive holds exactly the bytes the manifest hashed. The history
// extract and its chain are written to their files by that thread too (`lines`). No file is ever
// held in memory whole. A name already taken is never overwritten.
import { randomBytes } from "node:crypto";
import { closeSync, constants, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, rmdirSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { runningAsRoot, walk, type Rule } from "../trust/strict-modes.js";
import { Compressor, CompressorError } from "./compressor.js";
import { FileScratch } from "./scratch.js";
import { ChunkedFile, StagedText, type ChainedLines, type LinesSink, type PackFileSink, type PackSink } from "./sinks.js";
import { gzipMember, TarError, tarSegments } from "./tar.js";

export class PackWriteError extends Error {}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message;
}

/** The pack's directory, made now (true), or one that exists, is empty, is a real directory (not a link) and is the caller's alone. */
export function packDirectory(dir: string): boolean {
  try {
    mkdirSync(dir, { mode: 0o700 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw new PackWriteError(`cannot make the pack's directory ${dir}: ${describe(err)}`);
  }
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new PackWriteError(`${dir} exists and is not a directory: choose another --out`);
  if (st.uid !== process.geteuid?.()) throw new PackWriteError(`${dir} exists and belongs to uid ${st.uid}, not to this user: choose another --out (a pack is never written into a directory someone else controls)`);
  if (st.mode & 0o022) throw new PackWriteError(`${dir} exists and others can write into it: choose another --out`);
  if (readdirSync(dir).length > 0) throw new PackWriteError(`${dir} exists and is not empty: choose another --out (a pack is never mixed with other files)`);
  return false;
}

/** A directory's device and inode, or "" when it is gone or not a directory (a link put in its place is not it). */
function identityOf(dir: string): string {
  try {
    // in bigint: the inode number exactly, which a number is not above 2^53
    const st = lstatSync(dir, { bigint: true });
    return st.isDirectory() ? `${st.dev}:${st.ino}` : "";
  } catch {
    return "";
  }
}

/** A new file under a random name beside `path`, created exclusively, never through a link, owner-only (`readable`: to read back too). */
function openTemporary(path: string, readable = false): { tmp: string; fd: number } {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString("hex")}.tmp`);
  try {
    return { tmp, fd: openSync(tmp, (readable ? constants.O_RDWR : constants.O_WRONLY) | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600) };
  } catch (err) {
    throw new PackWriteError(`cannot write ${path}: ${describe(err)}`);
  }
}

/** Puts the finished temporary file at `path`, whole, unless something is already there. */
function linkIntoPlace(tmp: string, path: string): void {
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new PackWriteError(`cannot write ${path}: something appeared there while the pack was written; the pack is not complete`);
    throw new PackWriteError(`cannot write ${path}: ${describe(err)}`);
  } finally {
    rmSync(tmp, { force: true });
  }
}

function writeAll(fd: number, chunk: Buffer, path: string): void {
  try {
    for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at);
  } catch (err) {
    throw new PackWriteError(`cannot write ${path}: ${describe(err)}`);
  }
}

/** As root, the way to a pack is one no other user can change: else they could swap the pack's directory for a link as it is written. */
const PACK_RULE: Rule = { says: "as root, Covenant writes a pack only where no other user can change the way to it", error: (m) => new PackWriteError(m) };

/** The pack's directory with no link on the way, every directory on the way root's and closed to others (sticky allowed), when running as root. */
export function packPath(out: string): string {
  const abs = resolve(out.replace(/\/+$/, ""));
  if (!runningAsRoot()) return abs;
  return walk(abs, { of: `the pack ${abs}`, elsewhere: "choose an --out in a directory only root can change", sticky: true, rule: PACK_RULE });
}

/** The directories every pack has, empty or not: the reports go under `reports/`. */
const PACK_DIRS = ["reports"];

const READ_CHUNK = 1024 * 1024;

/** A file written: its name and size, and its gzip member, kept beside the pack until the archive takes it. */
interface Written {
  name: string;
  size: number;
  member: Member;
}

interface Member {
  id: number;
  tmp: string;
  fd: number;
}

/** Text written now and read back later, in chunks (each valid only until the next is asked for). */
export interface Scratch {
  write(data: string | Buffer): void;
  chunks(): Iterable<Buffer>;
}

/** A pack being written to its directory: each file as a sink (writePackTo), then `archive()` for PACK.tar.gz. */
export class PackDirectory implements PackSink {
  readonly dir: string;
  readonly archivePath: string;
  private readonly made: Set<string>;
  private readonly madeDir: boolean;
  private readonly written: Written[] = [];
  /** every member opened, written or not: removed when the archive is made or the pack abandoned */
  private readonly members: Member[] = [];
  /** the files the thread writes (the extract and its chain) while it may still write them, and scratch files: closed only once it has finished with them, or stopped */
  private threadFiles: number[] = [];
  private readonly compressor = new Compressor();
  /** the pack directory's device and inode, once made: what `abandon` removes from must still be it */
  private readonly identity: string;
  /** every file this wrote into the pack, by path: `abandon` removes these and nothing else */
  private readonly files: string[] = [];

  /** Checks that neither PACK.tar.gz exists nor PACK holds anything, and makes PACK. */
  constructor(out: string) {
    try {
      this.dir = packPath(out);
      this.archivePath = `${this.dir}.tar.gz`;
      try {
        lstatSync(this.archivePath);
        throw new PackWriteError(`${this.archivePath} exists: choose another --out (a pack is never written over another)`);
      } catch (err) {
        if (err instanceof PackWriteError) throw err;
      }
      this.madeDir = packDirectory(this.dir);
      this.identity = identityOf(this.dir);
    } catch (err) {
      void this.compressor.stop();
      throw err;
    }
    this.made = new Set([this.dir]);
    for (const d of PACK_DIRS) this.makeDirs(`${d}/`);
  }

  /**
   * A pack that failed as it was written: the files this wrote in it are removed, then the
   * directories it made, emptied (never a recursive removal of what a directory holds), and only
   * while the pack's directory is still the one it made or found (not a link put in its place).
   */
  abandon(): void {
    // the members' descriptors are closed only once the thread that writes them has stopped: a
    // number closed earlier could be reused, and written to, before it stops
    void this.compressor.stop().then(() => this.dropMembers());
    if (identityOf(this.dir) !== this.identity) return;
    for (const f of this.files) rmSync(f, { force: true });
    const dirs = [...this.made].filter((d) => d !== this.dir || this.madeDir).sort((a, b) => b.length - a.length);
    for (const d of dirs) {
      try {
        rmdirSync(d);
      } catch {
        // not empty (someone else's file) or gone: left as it is
      }
    }
  }

  private dropMembers(): void {
    for (const fd of [...this.members.splice(0).map((m) => m.fd), ...this.threadFiles.splice(0)]) {
      try {
        closeSync(fd);
      } catch {
        // closed already
      }
    }
  }

  private makeDirs(name: string): void {
    const parts = name.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const d = join(this.dir, ...parts.slice(0, i));
      if (this.made.has(d)) continue;
      try {
        mkdirSync(d, { mode: 0o700 });
      } catch (err) {
        throw new PackWriteError(`cannot make ${d}: ${describe(err)}`);
      }
      this.made.add(d);
    }
  }

  /** A new file of the pack at `name`, written under a random name (kept in `files`, for `abandon`) until it is complete. */
  private startFile(name: string): { path: string; tmp: string; fd: number } {
    this.makeDirs(name);
    const path = join(this.dir, ...name.split("/"));
    const { tmp, fd } = openTemporary(path);
    this.files.push(tmp);
    return { path, tmp, fd };
  }

  /** A new member of the archive, in a file beside it, read back through its descriptor only (nameless at once, so nothing is left if the process dies). */
  private memberFile(): { tmp: string; fd: number } {
    const opened = openTemporary(this.archivePath, true);
    rmSync(opened.tmp, { force: true });
    return opened;
  }

  /**
   * A scratch file beside the archive, nameless at once and read back through its descriptor only:
   * for a file whose beginning is known only after its rest is made (the fleet report's JSON puts
   * the fleet's totals before the hosts). Closed when the pack is archived or abandoned.
   */
  scratch(): Scratch {
    const opened = this.memberFile();
    this.threadFiles.push(opened.fd);
    return new FileScratch(opened.fd, (fd, chunk) => writeAll(fd, chunk, this.archivePath));
  }

  /** A complete file into place, and into the archive's list. */
  private finishFile(name: string, f: { path: string; tmp: string }, size: number, member: Member): void {
    linkIntoPlace(f.tmp, f.path);
    this.files.push(f.path);
    this.written.push({ name, size, member });
  }

  file(name: string): PackFileSink {
    const f = this.startFile(name);
    const { path, tmp, fd } = f;
    const opened = this.memberFile();
    const member: Member = { id: this.compressor.open(opened.fd), ...opened };
    this.members.push(member);
    let size = 0;
    let open = true;
    const close = () => {
      if (open) closeSync(fd);
      open = false;
    };
    return new ChunkedFile(
      (chunk) => {
        try {
          writeAll(fd, chunk, path);
          this.compressor.write(member.id, chunk);
        } catch (err) {
          close();
          rmSync(tmp, { force: true });
          throw this.writeError(err);
        }
        size += chunk.length;
      },
      () => {
        close();
        this.compressor.end(member.id);
        this.finishFile(name, f, size, member);
      },
    );
  }

  /** The extract and its chain, both written, hashed and chained by the compressing thread from the extract's bytes (compressor.ts `openLines`). */
  lines(name: string, chainName: string, start: Buffer): LinesSink {
    const lines = this.startFile(name);
    const chain = this.startFile(chainName);
    this.threadFiles.push(lines.fd, chain.fd);
    const [linesMember, chainMember] = [this.memberFile(), this.memberFile()];
    const ids = this.compressor.openLines({ member: linesMember.fd, file: lines.fd, label: lines.path, chain: { member: chainMember.fd, file: chain.fd, label: chain.path }, start });
    const members = { lines: { id: ids.lines, ...linesMember }, chain: { id: ids.chain, ...chainMember } };
    this.members.push(members.lines, members.chain);
    const given = (run: () => void) => {
      try {
        run();
      } catch (err) {
        // the thread may still hold the files' descriptors: they are closed once it is stopped (abandon)
        throw this.writeError(err);
      }
    };
    const staged = new StagedText((chunk) => given(() => this.compressor.write(ids.lines, chunk)));
    return {
      write: (data) => staged.write(data),
      end: (): ChainedLines => {
        let made!: ChainedLines;
        given(() => {
          staged.flush();
          made = this.compressor.endLines(ids.lines);
        });
        // the thread has written both files whole: their descriptors are no longer its
        this.threadFiles = this.threadFiles.filter((fd) => fd !== lines.fd && fd !== chain.fd);
        closeSync(lines.fd);
        closeSync(chain.fd);
        this.finishFile(name, lines, made.lines.bytes, members.lines);
        this.finishFile(chainName, chain, made.chain.bytes, members.chain);
        return made;
      },
    };
  }

  /** A failure while a file was written, as the pack says it: the file the thread could not write, or the archive. */
  private writeError(err: unknown): unknown {
    if (!(err instanceof CompressorError)) return err;
    return new PackWriteError(err.file !== undefined ? `cannot write ${err.file}: ${err.message}` : `cannot write ${this.archivePath}: ${err.message}`);
  }

  /** PACK.tar.gz: the tar's headers and padding compressed here, each file's member copied in (tar.ts tarSegments). */
  async archive(createdAt: Date): Promise<string> {
    try {
      await this.compressor.finished();
    } catch (err) {
      this.dropMembers();
      const said = this.writeError(err);
      throw said instanceof PackWriteError ? said : new PackWriteError(`cannot write ${this.archivePath}: ${describe(err)}`);
    }
    const { tmp, fd } = openTemporary(this.archivePath);
    try {
      for (const piece of tarSegments(basename(this.dir), this.written, Math.floor(createdAt.getTime() / 1000), PACK_DIRS)) {
        if ("glue" in piece) writeAll(fd, gzipMember(piece.glue), this.archivePath);
        else this.copyMember(piece.content.member, fd);
      }
    } catch (err) {
      rmSync(tmp, { force: true });
      if (err instanceof TarError) throw new PackWriteError(`cannot write ${this.archivePath}: ${err.message}`);
      throw err instanceof PackWriteError ? err : new PackWriteError(`cannot write ${this.archivePath}: ${describe(err)}`);
    } finally {
      closeSync(fd);
      this.dropMembers();
    }
    linkIntoPlace(tmp, this.archivePath);
    return this.archivePath;
  }

  /** A member's bytes, from its start, into the archive. */
  private copyMember(m: Member, to: number): void {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    for (let at = 0; ; ) {
      const n = readSync(m.fd, buf, 0, READ_CHUNK, at);
      if (n === 0) return;
      writeAll(to, buf.subarray(0, n), this.archivePath);
      at += n;
    }
  }
}
