// The code of the compressing thread (compressor.ts), as the text the thread is started with: it
// runs zlib, and for the history extract the file writes, sha256 and public chain, never the
// bundle. Its protocol, each message in the order the main thread sent it:
//   open {id, fd}                 a gzip member, written to fd
//   lines {id, fd, file, chain: {id, fd, file}, start, label}
//                                 the extract's member and its chain's (line-chain.ts): the
//                                 extract's bytes are also written to `file`, hashed and chained
//                                 as they arrive, the chain's text written to `chain.file`, hashed
//                                 and compressed into member `chain.id`
//   chunk {id, at, bytes}         the member's next bytes, in the shared ring at `at`
//   skip {bytes}                  the ring's end, unused (a chunk that did not fit went to its start)
//   end {id}                      the member is complete (for the extract: its results are posted
//                                 on the sync port, then both members end)
// Ring space is given back (state[PENDING]) once zlib has taken a chunk, in the order it was
// filled. A failure sets state[FAILED] and is posted on both ports: the main thread may be busy
// (in the walk of the store) and reads the sync port without waiting for its event loop.
import { LineChain } from "./line-chain.js";

/** Slots of the shared state: bytes of the ring in use, 1 once the thread failed, 1 once the extract's results were posted. */
export const PENDING = 0;
export const FAILED = 1;
export const LINES_DONE = 2;
export const STATE_SLOTS = 3;

/** Compressed bytes between two collections in the thread. */
const COLLECT_BYTES = 4 * 1024 * 1024;

/** The chain's text is handed on in chunks of this size. */
const CHAIN_CHUNK = 1024 * 1024;

export const THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
const { createGzip } = require("node:zlib");
const { createHash, hash } = require("node:crypto");
const { writeSync } = require("node:fs");
const LineChain = (${LineChain.toString()});
const state = new Int32Array(workerData.state);
const sync = workerData.sync;
// each compressed chunk is a Buffer outside the thread's heap, which is too small to be collected
// often: a year's ~40 MB of them stayed until the end. Collected every few MB instead.
require("node:v8").setFlagsFromString("--expose-gc");
const collect = globalThis.gc ?? require("node:vm").runInNewContext("gc");
let sinceCollected = 0;
const ring = Buffer.from(workerData.ring);
const members = new Map();
/** the extract's members, by the id of its lines member */
const extracts = new Map();
const queue = [];
let busy = false;
const fail = (id, err, file) => {
  const failure = { op: "failed", id, message: String((err && (err.code || err.message)) || err), ...(file ? { file } : {}) };
  // said before it is flagged: the main thread reads what was said once it sees the flag
  sync.postMessage(failure);
  Atomics.store(state, ${FAILED}, 1);
  Atomics.notify(state, ${PENDING});
  Atomics.notify(state, ${LINES_DONE});
  parentPort.postMessage(failure);
};
const free = (n) => {
  Atomics.sub(state, ${PENDING}, n);
  Atomics.notify(state, ${PENDING});
};
const writeAll = (fd, bytes) => {
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
};
const member = (id, fd) => {
  const gz = createGzip({ level: workerData.level, chunkSize: 256 * 1024 });
  let bytes = 0;
  gz.on("data", (c) => {
    try {
      writeAll(fd, c);
      bytes += c.length;
      sinceCollected += c.length;
      if (sinceCollected > ${COLLECT_BYTES}) {
        sinceCollected = 0;
        collect();
      }
    } catch (err) {
      fail(id, err);
      gz.destroy();
    }
  });
  gz.on("end", () => {
    // a finished member's zlib state (~300 KB) is freed now, not when a collection finds it
    members.delete(id);
    gz.close();
    parentPort.postMessage({ op: "done", id, bytes });
  });
  gz.on("error", (err) => fail(id, err));
  members.set(id, gz);
};
/** A file of the extract written and hashed here: its bytes as they pass. */
const plainFile = (fd, label) => {
  const hash = createHash("sha256");
  let bytes = 0;
  return {
    take(chunk) {
      try {
        writeAll(fd, chunk);
      } catch (err) {
        throw Object.assign(new Error(String(err.code || err.message)), { file: label });
      }
      hash.update(chunk);
      bytes += chunk.length;
    },
    end: () => ({ sha256: hash.digest("hex"), bytes }),
  };
};
const openLines = (m) => {
  member(m.id, m.fd);
  member(m.chain.id, m.chain.fd);
  const chainFile = plainFile(m.chain.file, m.chain.label);
  const chain = new LineChain(Buffer.from(m.start), { sha256: () => createHash("sha256"), sha256Hex: (bytes) => hash("sha256", bytes, "hex") }, (text) => {
    chainFile.take(text);
    queue.push({ op: "data", id: m.chain.id, data: text });
  }, ${CHAIN_CHUNK});
  extracts.set(m.id, { file: plainFile(m.file, m.label), chain, chainFile, chainId: m.chain.id });
};
const endLines = (m, x) => {
  const final = x.chain.end();
  sync.postMessage({ op: "lines", id: m.id, lines: x.file.end(), chain: x.chainFile.end(), final, count: x.chain.count });
  Atomics.store(state, ${LINES_DONE}, 1);
  Atomics.notify(state, ${LINES_DONE});
  extracts.delete(m.id);
  queue.push({ op: "end", id: x.chainId });
};
/** What must happen as a message arrives (the extract's bytes are written, hashed and chained at once); returns whether it goes on to zlib's queue. */
const arrive = (m) => {
  if (m.op === "open") member(m.id, m.fd);
  else if (m.op === "lines") openLines(m);
  else if (m.op === "chunk" && extracts.has(m.id)) {
    const x = extracts.get(m.id);
    const bytes = ring.subarray(m.at, m.at + m.bytes);
    x.file.take(bytes);
    x.chain.update(bytes);
  } else if (m.op === "end" && extracts.has(m.id)) {
    endLines(m, extracts.get(m.id));
  }
  return m.op !== "open" && m.op !== "lines";
};
/** zlib's queue, one piece at a time, in order. */
const next = () => {
  while (!busy && queue.length > 0) {
    const m = queue.shift();
    if (m.op === "skip") free(m.bytes);
    else if (m.op === "end") members.get(m.id).end();
    else if (m.op === "chunk" || m.op === "data") {
      busy = true;
      const data = m.op === "chunk" ? ring.subarray(m.at, m.at + m.bytes) : m.data;
      members.get(m.id).write(data, () => {
        busy = false;
        if (m.op === "chunk") free(m.bytes);
        next();
      });
    }
  }
};
parentPort.on("message", (m) => {
  try {
    if (arrive(m)) queue.push(m);
    next();
  } catch (err) {
    fail(m.id, err, err && err.file);
  }
});
`;
