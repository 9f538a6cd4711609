// Compresses a pack's files into their archive members while they are written, on a second
// thread: a year's extract is ~175 MB, and gzip of it took ~3 s after the pack was written, on
// the one core the walk of the store had just used. The thread runs zlib only (its code is the
// few lines below, not the bundle) and writes each member to a file the main thread opened (owner
// only, never through a link: write.ts). What it compresses it reads from a ring of shared memory
// the main thread copies each chunk into: nothing is allocated per chunk, so memory stays what the
// ring is (RING bytes) whatever the disk's speed; when the ring is full, the main thread waits.
import { Worker } from "node:worker_threads";
import { GZIP_LEVEL } from "./tar.js";

/** The shared ring chunks pass through (a chunk larger than half of it is given in pieces: `write`). */
const RING = 4 * 1024 * 1024;

/** How long one wait lasts before the thread's state is looked at again. */
const WAIT_MS = 200;

/** How long the ring may stay full with nothing compressed before the thread is taken for dead (4 MiB takes well under a second). */
const STALL_MS = 60_000;

/** Compressed bytes between two collections in the thread. */
const COLLECT_BYTES = 4 * 1024 * 1024;

/**
 * The thread's heap: it keeps a few objects (the queue is bounded by the ring), but its garbage
 * (each compressed chunk) made its heap grow by ~35 MB over a year's pack before it was collected.
 * Well above what it keeps, so it is collected, never starved.
 */
const THREAD_HEAP = { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 };

// state: [0] bytes of the ring in use (given and not yet compressed), [1] 1 once the thread failed
const PENDING = 0;
const FAILED = 1;

/**
 * The thread: one gzip stream per member, written to its descriptor synchronously. Chunks are
 * compressed one at a time, in the order given, so the ring is freed in the order it was filled.
 */
const THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
const { createGzip } = require("node:zlib");
const { writeSync } = require("node:fs");
const state = new Int32Array(workerData.state);
// each compressed chunk is a Buffer outside the thread's heap, which is too small to be collected
// often: a year's ~40 MB of them stayed until the end. Collected every few MB instead.
require("node:v8").setFlagsFromString("--expose-gc");
const collect = globalThis.gc ?? require("node:vm").runInNewContext("gc");
let sinceCollected = 0;
const ring = Buffer.from(workerData.ring);
const members = new Map();
const queue = [];
let busy = false;
const fail = (id, err) => {
  Atomics.store(state, ${FAILED}, 1);
  Atomics.notify(state, ${PENDING});
  parentPort.postMessage({ op: "failed", id, message: String((err && (err.code || err.message)) || err) });
};
const free = (n) => {
  Atomics.sub(state, ${PENDING}, n);
  Atomics.notify(state, ${PENDING});
};
const next = () => {
  if (busy || queue.length === 0) return;
  const m = queue.shift();
  if (m.op === "open") {
    const gz = createGzip({ level: workerData.level, chunkSize: 256 * 1024 });
    let bytes = 0;
    gz.on("data", (c) => {
      try {
        for (let at = 0; at < c.length; ) at += writeSync(m.fd, c, at);
        bytes += c.length;
        sinceCollected += c.length;
        if (sinceCollected > ${COLLECT_BYTES}) {
          sinceCollected = 0;
          collect();
        }
      } catch (err) {
        fail(m.id, err);
        gz.destroy();
      }
    });
    gz.on("end", () => {
      // a finished member's zlib state (~300 KB) is freed now, not when a collection finds it
      members.delete(m.id);
      gz.close();
      parentPort.postMessage({ op: "done", id: m.id, bytes });
    });
    gz.on("error", (err) => fail(m.id, err));
    members.set(m.id, gz);
  } else if (m.op === "skip") free(m.bytes);
  else if (m.op === "end") members.get(m.id).end();
  else if (m.op === "chunk") {
    busy = true;
    members.get(m.id).write(ring.subarray(m.at, m.at + m.bytes), () => {
      busy = false;
      free(m.bytes);
      next();
    });
    return;
  }
  next();
};
parentPort.on("message", (m) => {
  queue.push(m);
  try {
    next();
  } catch (err) {
    fail(m.id, err);
  }
});
`;

export class CompressorError extends Error {}

/** The members being compressed, each written to its descriptor; `finished` once every one has ended. */
export class Compressor {
  private readonly worker: Worker;
  private readonly state = new Int32Array(new SharedArrayBuffer(8));
  private readonly ring = Buffer.from(new SharedArrayBuffer(RING));
  /** where the next chunk goes in the ring */
  private head = 0;
  private readonly done = new Map<number, { resolve: (bytes: number) => void; reject: (err: Error) => void; promise: Promise<number> }>();
  private next = 0;
  private failure: string | undefined;

  constructor() {
    this.worker = new Worker(THREAD, { eval: true, workerData: { state: this.state.buffer, ring: this.ring.buffer, level: GZIP_LEVEL }, resourceLimits: THREAD_HEAP });
    this.worker.on("message", (m: { op: string; id: number; bytes?: number; message?: string }) => {
      const d = this.done.get(m.id);
      if (m.op === "done") d?.resolve(m.bytes ?? 0);
      else if (m.op === "failed") {
        this.failure ??= m.message ?? "failed";
        d?.reject(new CompressorError(`compressing the archive failed: ${this.failure}`));
      }
    });
    // a pack abandoned without `stop` must not keep the process alive; `finished` holds it while it waits
    this.worker.unref();
    this.worker.on("error", (err) => this.failAll(err.message));
    this.worker.on("exit", () => this.failAll("the compressing thread stopped"));
  }

  private failAll(message: string): void {
    this.failure ??= message;
    for (const d of this.done.values()) d.reject(new CompressorError(`compressing the archive failed: ${this.failure}`));
  }

  /** A new member, written to `fd` (which stays the caller's to close, after `finished`). */
  open(fd: number): number {
    const id = this.next++;
    let resolve!: (bytes: number) => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<number>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => undefined); // judged by `finished`
    this.done.set(id, { resolve, reject, promise });
    this.worker.postMessage({ op: "open", id, fd });
    return id;
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
    this.waitForRoom(skip + piece.length);
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

  private waitForRoom(bytes: number): void {
    let since = Date.now();
    let last = -1;
    for (;;) {
      if (Atomics.load(this.state, FAILED) === 1) throw new CompressorError(`compressing the archive failed: ${this.failure ?? "the compressing thread failed"}`);
      const pending = Atomics.load(this.state, PENDING);
      if (pending + bytes <= RING) return;
      // a thread that died cannot say so while this thread waits (its exit is an event): no progress at all is failure
      if (pending !== last) [last, since] = [pending, Date.now()];
      else if (Date.now() - since > STALL_MS) throw new CompressorError("compressing the archive failed: the compressing thread stopped taking data");
      Atomics.wait(this.state, PENDING, pending, WAIT_MS);
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
    await this.worker.terminate();
  }
}
