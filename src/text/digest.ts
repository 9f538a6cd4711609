// A digest in one call. `crypto.hash` (Node 20.12 and later) makes no Hash object: on the short
// texts and small files a run digests for every promise it is 3-4x cheaper than createHash
// (bench/run). Where it is missing, createHash gives the same digest.
import { createHash, hash } from "node:crypto";

export type DigestAlgorithm = "sha256" | "sha512";

export const hexDigest: (algorithm: DigestAlgorithm, data: string | Buffer) => string =
  typeof (hash as unknown) === "function" ? (algorithm, data) => hash(algorithm, data, "hex") : (algorithm, data) => createHash(algorithm).update(data).digest("hex");
