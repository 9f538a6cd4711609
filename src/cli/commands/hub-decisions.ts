// `covenant hub deficiencies|ack|waive|withdraw|decisions`: decisions given on the hub's machine,
// against its database, as `hub resolve` is (an administrator's: the API holds people to their
// roles, these are for whoever runs the hub). Each reaches the host with its next push reply.
import type { Pool } from "pg";
import { DecisionError, giveAck, giveIntegrityApproval, grantWaiver, hostDeficiencies, listDecisions, withdrawDecision } from "../../hub/decision-giving.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";
import { renderTable } from "../table.js";
import { adminPool, who } from "./hub.js";

interface DbOptions {
  config?: string;
}

/** The host an id or a name names, or why not. */
async function hostNamed(pool: Pool, which: string): Promise<string | { problem: string }> {
  const found = (await pool.query<{ id: string }>("SELECT id FROM hub_hosts WHERE id::text = $1 OR name = $1", [which])).rows;
  if (found.length === 1) return found[0]!.id;
  return { problem: found.length === 0 ? `no enrolled host has the id or name ${which}` : `${found.length} hosts have the name ${which}: give the id (covenant hub hosts)` };
}

/** Runs `work` on the hub's database, saying a refusal as the command's. */
async function onHub(opts: DbOptions, io: Io, command: string, work: (pool: Pool) => Promise<number>): Promise<number> {
  const pool = await adminPool(opts, io, command);
  if (typeof pool === "number") return pool;
  try {
    return await work(pool);
  } catch (err) {
    if (!(err instanceof DecisionError)) throw err;
    io.err(`covenant hub ${command}: ${escapeText(err.message)}`);
    return EXIT.policyError;
  } finally {
    await pool.end();
  }
}

function refuse(io: Io, command: string, problem: string): number {
  io.err(`covenant hub ${command}: ${escapeText(problem)}`);
  return EXIT.policyError;
}

export async function runHubDeficiencies(host: string, opts: DbOptions & { all: boolean; json: boolean }, io: Io): Promise<number> {
  return onHub(opts, io, "deficiencies", async (pool) => {
    const id = await hostNamed(pool, host);
    if (typeof id !== "string") return refuse(io, "deficiencies", id.problem);
    const list = await hostDeficiencies(pool, id, opts.all);
    if (opts.json) io.out(JSON.stringify(list, null, 2));
    else if (list.length === 0) io.out(opts.all ? "no deficiency in this host's records" : "no open deficiency in this host's records");
    else {
      io.out(renderTable(["ID", "OUTCOME", "CONTROL", "PROMISE", "SINCE", "RECORD", "ACK"], list.map((d) => [d.id, d.resolvedRecord !== null ? `${d.outcome} (resolved)` : d.outcome, escapeText(d.control), escapeText(`${d.type} ${d.promiser}`), d.openedAt, `${d.latestRecord ?? ""}${d.integrityChange ? " (integrity)" : ""}`, d.ackedBy ? `by ${escapeText(d.ackedBy)}` : ""])));
      for (const d of list.filter((x) => x.integrityChange && x.resolvedRecord === null)) io.out(`${d.id}: approve its state with \`covenant hub approve-change ${escapeText(host)} ${escapeText(d.key)} --record ${d.latestRecord} --reason ...\``);
    }
    return EXIT.ok;
  });
}

export async function runHubAck(host: string, deficiency: string, opts: DbOptions & { reason?: string; by?: string }, io: Io): Promise<number> {
  if (!opts.reason) return refuse(io, "ack", "--reason is required (it goes to the host and into the hub's audit log)");
  return onHub(opts, io, "ack", async (pool) => {
    const id = await hostNamed(pool, host);
    if (typeof id !== "string") return refuse(io, "ack", id.problem);
    const given = await giveAck(pool, { host: id, deficiency, reason: opts.reason!, by: opts.by?.trim() || `cli:${who()}` });
    io.out(`decision ${given.id}: the acknowledgement of ${escapeText(deficiency)} reaches the host with its next push`);
    return EXIT.ok;
  });
}

export async function runHubApproveChange(host: string, promise: string, opts: DbOptions & { record?: string; reason?: string; by?: string }, io: Io): Promise<number> {
  if (!opts.reason || !opts.record || !/^[1-9][0-9]{0,15}$/.test(opts.record)) return refuse(io, "approve-change", "--record N (the change record that reported the state: covenant hub deficiencies HOST) and --reason are required");
  return onHub(opts, io, "approve-change", async (pool) => {
    const id = await hostNamed(pool, host);
    if (typeof id !== "string") return refuse(io, "approve-change", id.problem);
    const given = await giveIntegrityApproval(pool, { host: id, promise, record: Number(opts.record), reason: opts.reason!, by: opts.by?.trim() || `cli:${who()}` });
    io.out(`decision ${given.id}: the approval of ${escapeText(promise)}'s state (record ${opts.record}) reaches the host with its next push; it is applied only while the host still observes that state`);
    return EXIT.ok;
  });
}

export async function runHubWaive(control: string, opts: DbOptions & { host?: string; group?: string; reason?: string; from?: string; until?: string; by?: string }, io: Io): Promise<number> {
  if (!opts.reason || !opts.until) return refuse(io, "waive", "--reason and --until are required");
  return onHub(opts, io, "waive", async (pool) => {
    let host: string | undefined;
    if (opts.host !== undefined) {
      const id = await hostNamed(pool, opts.host);
      if (typeof id !== "string") return refuse(io, "waive", id.problem);
      host = id;
    }
    const given = await grantWaiver(pool, { control, ...(host ? { host } : {}), ...(opts.group !== undefined ? { group: opts.group } : {}), ...(opts.from ? { from: opts.from } : {}), until: opts.until!, reason: opts.reason!, by: opts.by?.trim() || `cli:${who()}` });
    io.out(`${given.length} decision${given.length === 1 ? "" : "s"} (${given.map((g) => g.id).join(", ")}): the waiver of ${escapeText(control)} reaches each host with its next push`);
    return EXIT.ok;
  });
}

export async function runHubWithdraw(id: string, opts: DbOptions, io: Io): Promise<number> {
  if (!/^[1-9][0-9]{0,15}$/.test(id)) return refuse(io, "withdraw", `${JSON.stringify(id)} is not a decision number (covenant hub decisions lists them)`);
  return onHub(opts, io, "withdraw", async (pool) => {
    await withdrawDecision(pool, Number(id), `cli:${who()}`);
    io.out(`decision ${id} withdrawn: no host will get it`);
    return EXIT.ok;
  });
}

export async function runHubDecisions(opts: DbOptions & { host?: string; state?: string; json: boolean }, io: Io): Promise<number> {
  return onHub(opts, io, "decisions", async (pool) => {
    let host: string | undefined;
    if (opts.host !== undefined) {
      const id = await hostNamed(pool, opts.host);
      if (typeof id !== "string") return refuse(io, "decisions", id.problem);
      host = id;
    }
    const list = await listDecisions(pool, { ...(host ? { host } : {}), ...(opts.state ? { state: opts.state } : {}), limit: 500 });
    if (opts.json) io.out(JSON.stringify(list, null, 2));
    else if (list.length === 0) io.out("no decision given on the hub");
    else {
      const row = (d: Record<string, unknown>) => [String(d["id"]), escapeText(String(d["hostName"])), String(d["kind"]), escapeText(String(d["control"])), escapeText(String(d["givenBy"])), String(d["state"]), d["hostRecord"] !== null ? String(d["hostRecord"]) : "", escapeText(String(d["hostReason"] ?? ""))];
      io.out(renderTable(["ID", "HOST", "KIND", "CONTROL", "GIVEN BY", "STATE", "HOST RECORD", "HOST SAYS"], list.map(row)));
    }
    return EXIT.ok;
  });
}
