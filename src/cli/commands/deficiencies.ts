// `covenant deficiencies` lists what is open (or, with --all, everything the store remembers),
// and `covenant ack ID --reason TEXT` acknowledges one: escalation stops, and the acknowledgement
// (with the name given and the operating-system user and login uid that ran it) goes into the
// hash-chained history and into later messages.
import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import type { Deficiency } from "../../notifiers/contract.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { withStoreForReading, withStoreForWriting } from "../store-access.js";
import { renderTable } from "../table.js";

export interface DeficienciesOptions {
  state?: string;
  json: boolean;
  all: boolean;
}

export function runDeficiencies(opts: DeficienciesOptions, io: Io): number {
  return withStoreForReading(opts.state, io, "deficiencies", (store) => {
    const list = store.listDeficiencies({ status: opts.all ? "all" : "open" });
    if (opts.json) {
      io.out(JSON.stringify(list, null, 2));
    } else if (list.length === 0) {
      io.out(opts.all ? "no deficiencies recorded" : "no open deficiencies");
    } else {
      io.out(renderTable(["ID", "STATUS", "OUTCOME", "SEVERITY", "CONTROL", "PROMISE", "SINCE", "ACK"], list.map(row)));
      const open = list.filter((d) => d.status === "open" && !d.notice).length;
      io.out(`\n${open} open${opts.all ? `, ${list.length - open} resolved or notices` : ""}`);
    }
    return list.some((d) => d.status === "open" && !d.notice) ? EXIT.deficiencies : EXIT.ok;
  });
}

function row(d: Deficiency): string[] {
  const status = d.notice ? "notice" : d.status;
  const since = d.status === "open" ? d.openedAt : `${d.openedAt} → ${d.resolvedAt ?? "?"}`;
  return [d.id, status, d.status === "resolved" && d.resolvedBy ? `${d.outcome} → ${d.resolvedBy}` : d.outcome, d.control.severity, d.control.id, `${d.promise.type} ${d.promise.promiser}`, since.replace(/\.\d{3}Z/g, "Z"), d.ack ? `by ${d.ack.by}` : ""];
}

/** The longest acknowledgement reason and name taken, in characters. */
const MAX_REASON = 1000;
const MAX_BY = 100;

export interface AckOptions {
  state?: string;
  reason: string;
  by?: string;
  json: boolean;
  /** the instant recorded (tests) */
  now?: Date;
}

export async function runAck(id: string, opts: AckOptions, io: Io): Promise<number> {
  const reason = opts.reason.trim();
  if (reason.length === 0) {
    io.err("covenant ack: --reason wants the reason in words (it is kept in the history)");
    return EXIT.policyError;
  }
  // the reason and the name travel in every later message about the deficiency (an SMS is one
  // segment): a ticket and a sentence, not a document
  const by = opts.by?.trim();
  if (reason.length > MAX_REASON || (by !== undefined && by.length > MAX_BY)) {
    io.err(`covenant ack: ${reason.length > MAX_REASON ? `--reason is ${reason.length} characters; at most ${MAX_REASON}` : `--by is ${by!.length} characters; at most ${MAX_BY}`} (give a ticket reference and a sentence)`);
    return EXIT.policyError;
  }
  return withStoreForWriting(opts.state, io, "ack", (store) => {
    const found = store.findDeficiency(id);
    if (found === undefined) {
      io.err(`covenant ack: no deficiency \`${escapeText(id)}\` (\`covenant deficiencies --all\` lists them)`);
      return EXIT.policyError;
    }
    if ("ambiguous" in found) {
      io.err(`covenant ack: \`${escapeText(id)}\` names ${found.ambiguous.length} deficiencies (${found.ambiguous.map(escapeText).join(", ")}): give more of the id`);
      return EXIT.policyError;
    }
    const user = operatingSystemUser();
    const acked = store.acknowledge(found.id, { at: (opts.now ?? new Date()).toISOString(), reason, by: by || user, user, loginUid: loginUid() });
    if (opts.json) io.out(JSON.stringify(acked, null, 2));
    else io.out(`acknowledged ${acked.id} (${escapeText(acked.control.id)}, ${escapeText(acked.promise.type)} ${escapeText(acked.promise.promiser)}) by ${escapeText(acked.ack!.by)}: history record ${acked.ack!.record}; escalation stops, later messages say so`);
    return EXIT.ok;
  });
}

export function operatingSystemUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? "?"}`;
  }
}

/** The audit login uid of whoever logged in (it survives sudo and su); null when unset. */
export function loginUid(path = "/proc/self/loginuid"): number | null {
  try {
    const n = Number(readFileSync(path, "utf8").trim());
    return Number.isSafeInteger(n) && n >= 0 && n !== 4294967295 ? n : null;
  } catch {
    return null;
  }
}
