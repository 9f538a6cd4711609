// Compresses a pack's files into their archive members while they are written, on a second
// thread: a year's extract is ~175 MB, and gzip of it took ~3 s after the pack was written, on
// the one core the walk of the store had just used. The thread runs zlib (its code is
// compressor-thread.ts, not the bundle) and writes each member to a file the main thread opened
// (owner only, never through a link: write.ts). What it compresses it reads from a ring of shared
// memory the main thread copies each chunk into: nothing is allocated per chunk, so memory stays
// what the ring is (RING bytes) whatever the disk's speed; when the ring is full, the main thread
// waits. The history extract is written, hashed and chained by the thread too (`lines`): its
// 325,000 lines a year cost the walk of the store ~1.5 s more on the main thread.
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import { FAILED, LINES_DONE, PENDING, STATE_SLOTS, THREAD } from "./compressor-thread.js";
import type { ChainedLines } from "./sinks.js";
import { GZIP_LEVEL } from "./tar.js";

/** The shared ring chunks pass through (a chunk larger than half of it is given in pieces: `write`). */
const RING = 4 * 1024 * 1024;

/** How long one wait lasts before the thread's state is looked at again. */
const WAIT_MS = 200;

/** How long the ring may stay full with nothing compressed before the thread is taken for dead (4 MiB takes well under a second). */
const STALL_MS = 60_000;

/**
 * The thread's heap: it keeps a few objects (the queue is bounded by the ring), but its garbage
 * (each compressed chunk) made its heap grow by ~35 MB over a year's pack before it was collected.
 * Well above what it keeps, so it is collected, never starved.
 */
const THREAD_HEAP = { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 };

/** A failure of the thread: writing the archive's members, or (`file`) the pack's file it writes itself. */
export class CompressorError extends Error {
  constructor(
    message: string,
    /** the pack's file the thread could not write (the extract or its chain), when it was not the archive */
    readonly file?: string,
  ) {
    super(message);
  }
}

interface Failure {
  op: "failed";
  id: number;
  message: string;
  file?: string;
}

/** Where the thread writes the extract, its chain, and their members (write.ts opens each). */
export interface LinesFiles {
  /** the extract's member, and the extract's own file (`label`: its path, for errors) */
  member: number;
  file: number;
  label: string;
  chain: { member: number; file: number; label: string };
  /** the chain's first value (manifest.ts chainStart) */
  start: Buffer;
}

/** The members being compressed, each written to its descriptor; `finished` once every one has ended. */
export class Compressor {
  private readonly worker: Worker;
  private readonly state = new Int32Array(new SharedArrayBuffer(4 * STATE_SLOTS));
  private readonly ring = Buffer.from(new SharedArrayBuffer(RING));
  /** what the thread says that the main thread must read while it is busy (no event reaches it then): a failure, the extract's results */
  private readonly sync: MessagePort;
  /** where the next chunk goes in the ring */
  private head = 0;
  private readonly done = new Map<number, { resolve: (bytes: number) => void; reject: (err: Error) => void; promise: Promise<number> }>();
  private next = 0;
  private failure: Failure | undefined;
  private lines: ChainedLines | undefined;

  constructor() {
    const channel = new MessageChannel();
    this.sync = channel.port1;
    this.sync.unref();
    this.worker = new Worker(THREAD, { eval: true, workerData: { state: this.state.buffer, ring: this.ring.buffer, level: GZIP_LEVEL, sync: channel.port2 }, transferList: [channel.port2], resourceLimits: THREAD_HEAP });
    this.worker.on("message", (m: Failure | { op: "done"; id: number; bytes: number }) => {
      const d = this.done.get(m.id);
      if (m.op === "done") d?.resolve(m.bytes);
      else {
        this.failure ??= m;
        d?.reject(this.error());
      }
    });
    // a pack abandoned without `stop` must not keep the process alive; `finished` holds it while it waits
    this.worker.unref();
    this.worker.on("error", (err) => this.failAll(err.message));
    this.worker.on("exit", () => this.failAll("the compressing thread stopped"));
  }

  private error(): CompressorError {
    const f = this.failure;
    if (f?.file !== undefined) return new CompressorError(f.message, f.file);
    return new CompressorError(`compressing the archive failed: ${f?.message ?? "the compressing thread failed"}`);
  }

  private failAll(message: string): void {
    this.failure ??= { op: "failed", id: -1, message };
    for (const d of this.done.values()) d.reject(this.error());
  }

  /** Reads what the thread said on the sync port: its failure, the extract's results. */
  private readSync(): void {
    for (let m = receiveMessageOnPort(this.sync); m; m = receiveMessageOnPort(this.sync)) {
      const said = m.message as Failure | ({ op: "lines" } & ChainedLines);
      if (said.op === "failed") this.failure ??= said;
      else this.lines = { lines: said.lines, chain: said.chain, final: said.final, count: said.count };
    }
  }

  private member(): number {
    const id = this.next++;
    let resolve!: (bytes: number) => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<number>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => undefined); // judged by `finished`
    this.done.set(id, { resolve, reject, promise });
    return id;
  }

  /** A new member, written to `fd` (which stays the caller's to close, after `finished`). */
  open(fd: number): number {
    const id = this.member();
    this.worker.postMessage({ op: "open", id, fd });
    return id;
  }

  /**
   * The extract's member and its chain's: what is written to the first (`write`) the thread also
   * writes to the extract's file, hashes and chains (line-chain.ts), the chain going to its own
   * file and member. Every descriptor stays the caller's to close (the files' once `endLines` has
   * returned, the members' after `finished`).
   */
  openLines(f: LinesFiles): { lines: number; chain: number } {
    const lines = this.member();
    const chain = this.member();
    this.worker.postMessage({ op: "lines", id: lines, fd: f.member, file: f.file, label: f.label, chain: { id: chain, fd: f.chain.member, file: f.chain.file, label: f.chain.label }, start: f.start });
    return { lines, chain };
  }

  /** Ends the extract and waits for what the thread made of it (the manifest needs it; the thread is at most a ring behind). */
  endLines(id: number): ChainedLines {
    this.end(id);
    this.waitUntil(LINES_DONE, () => {
      this.readSync();
      return this.lines !== undefined;
    });
    return this.lines!;
  }

  /** Gives the thread `chunk` (copied into the ring: the caller keeps its own), first waiting while the ring has no room. */
  write(id: number, chunk: Buffer): void {
    for (let at = 0; at < chunk.length; at += RING / 2) this.writePiece(id, chunk.subarray(at, at + RING / 2));
  }

  private writePiece(id: number, piece: Buffer): void {
    // the ring is used in order: a piece that does not fit before its end starts again at 0, the
    // rest skipped (none when the last piece ended exactly at the end)
    const wraps = this.head + piece.length > RING;
    const skip = wraps ? RING - this.head : 0;
    this.waitUntil(PENDING, () => Atomics.load(this.state, PENDING) + skip + piece.length <= RING);
    if (wraps) {
      if (skip > 0) {
        Atomics.add(this.state, PENDING, skip);
        this.worker.postMessage({ op: "skip", bytes: skip });
      }
      this.head = 0;
    }
    piece.copy(this.ring, this.head);
    Atomics.add(this.state, PENDING, piece.length);
    this.worker.postMessage({ op: "chunk", id, at: this.head, bytes: piece.length });
    this.head += piece.length;
  }

  /** Waits until `ready`, waking when the thread changes `slot`; a failed thread, or one that makes no progress at all, throws. */
  private waitUntil(slot: number, ready: () => boolean): void {
    let since = Date.now();
    let last = -1;
    for (;;) {
      // read before `ready` is asked: a change made after it wakes the wait at once
      const seen = Atomics.load(this.state, slot);
      if (Atomics.load(this.state, FAILED) === 1) {
        this.readSync();
        throw this.error();
      }
      if (ready()) return;
      // a thread that died cannot say so while this thread waits (its exit is an event): no progress at all is failure
      const pending = Atomics.load(this.state, PENDING);
      if (pending !== last) [last, since] = [pending, Date.now()];
      else if (Date.now() - since > STALL_MS) throw new CompressorError("compressing the archive failed: the compressing thread stopped taking data");
      Atomics.wait(this.state, slot, seen, WAIT_MS);
    }
  }

  end(id: number): void {
    this.worker.postMessage({ op: "end", id });
  }

  /** The compressed size of every member, once all have ended; the thread is stopped after. */
  async finished(): Promise<number[]> {
    this.worker.ref();
    try {
      return await Promise.all([...this.done.values()].map((d) => d.promise));
    } finally {
      await this.stop();
    }
  }

  /** Stops the thread (a pack abandoned, or finished). */
  async stop(): Promise<void> {
    this.worker.removeAllListeners("exit");
    this.sync.close();
    await this.worker.terminate();
  }
}
