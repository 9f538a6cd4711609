// What a fleet evidence pack's manifest says (docs/hub-evidence.md). The fleet hub writes the pack
// (hub/evidence/fleet-pack.ts) and signs the manifest with its own Ed25519 key; `covenant evidence
// verify` checks it with the hub's public key alone (fleet-verify.ts). Per host, the pack holds the
// records of the period exactly as the host pushed them (`history.jsonl`, the lines an evidence
// pack of the host's own holds) and beside them, line for line, the hub's receive time and its
// chain value after the record (`chain.jsonl`, whose first line is the chain value before them).
import type { ManifestFile } from "./manifest.js";

export const FLEET_PACK_FORMAT = "covenant-fleet-evidence-pack";
export const FLEET_PACK_VERSION = 1;

/** A host's files in the pack: its directory, then these names. */
export const HOST_HISTORY = "history.jsonl";
export const HOST_CHAIN = "chain.jsonl";
export const hostDir = (id: string): string => `hosts/${id}`;

export const FLEET_WHAT_IT_PROVES =
  "This pack holds exactly the records each host pushed to the hub for the period, in the order the hub chained them, with the time the hub received each, signed with the hub's key. It proves what each host sent and when the hub received it, and that the hub's copy was not changed afterwards. It does not prove that what a host recorded is true (a host whose root was compromised could send a lie), nor that the hub's clock was right; a host's own time is its clock, shown beside the hub's.";

export interface FleetManifestHost {
  id: string;
  name: string;
  group: string | null;
  /** the epoch of the host's chain the records are of */
  epoch: number;
  /** hub_hosts.chain_status when the pack was made, and the open or period's incidents by kind */
  chainStatus: string;
  incidents: { id: number; kind: string; seq: number | null; openedAt: string; resolvedAt: string | null }[];
  extract: {
    first: number | null;
    last: number | null;
    count: number;
    /** the hub's chain value before the first record (hex), and after the last */
    before: string;
    final: string;
    /** the prune's cut when the host's records at or below it are not consecutive (a pruned store's first push) */
    prunedTo: number | null;
  };
}

export interface FleetManifest {
  format: typeof FLEET_PACK_FORMAT;
  version: typeof FLEET_PACK_VERSION;
  createdAt: string;
  period: { from: string; to: string; timeZone: string; start: string; end: string };
  scope: { group: string | null };
  signingKey: { algorithm: "ed25519"; fingerprint: string };
  hosts: FleetManifestHost[];
  /** the policy versions the hosts ran in the period, as they pushed them: policies/<hash12>/ */
  policies: { hash: string; dir: string; record: number; hosts: string[] }[];
  /** versions a host ran whose files cannot be put in a pack as pushed (a path that climbs out, or too long), and why */
  policiesNotIncluded: { hash: string; host: string; why: string }[];
  files: ManifestFile[];
  says: string;
}
