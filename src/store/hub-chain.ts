// The fleet hub's chain over each host's records (hub/protocol.ts says why it exists): kept here,
// below the hub and the evidence packs, because a fleet evidence pack is verified with it by
// `covenant evidence verify` (evidence/fleet-verify.ts), which must not need the hub's code.
import { createHash } from "node:crypto";

export const HUB_CHAIN_LABEL = "covenant hub chain v1";

/** The hub's chain value before a host's first record (of each epoch). */
export function hubChainStart(hostId: string): Buffer {
  return createHash("sha256").update(`${HUB_CHAIN_LABEL}\n${hostId}`).digest();
}

/** The hub's chain value after one more record's line. */
export function hubChainNext(prev: Buffer, line: string): Buffer {
  return createHash("sha256").update(prev).update(line, "utf8").digest();
}
