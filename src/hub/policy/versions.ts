// Policy versions on the hub: published by an author (checked first: a policy with errors is never
// stored), approved by someone else where the configuration requires it (separation of duties, as
// SOX change management expects of the controls themselves), then signed with the hub's key and
// put in force for a host group. Hosts fetch the version in force, check the hub's signature over
// its statement and each file against it, and check the policy again themselves.
import { createHash, sign } from "node:crypto";
import type { Pool, PoolClient } from "pg";
import { audit } from "../server/audit.js";
import { catalogueContent } from "../server/catalogue.js";
import type { HubKey } from "../signing.js";
import { checkPublishedPolicy, filesProblem, type PolicyFileText, type PolicyProblem } from "./check.js";
import { inTransaction } from "../db/transaction.js";

export const STATEMENT_FORMAT = "covenant-hub-policy";

/** What the hub signs of a version: everything a host needs to trust its files, nothing more. */
export interface PolicyStatement {
  format: typeof STATEMENT_FORMAT;
  version: 1;
  id: number;
  content: string;
  group: string | null;
  files: { path: string; sha256: string }[];
  author: string;
  message: string;
  publishedAt: string;
  approvedBy: string;
  approvedAt: string;
  hub: string;
}

export interface VersionSummary {
  id: number;
  content: string;
  group: string | null;
  author: string;
  message: string;
  publishedAt: Date;
  status: "pending" | "approved" | "rejected";
  decidedBy: string | null;
  decidedAt: Date | null;
  reason: string | null;
  current: boolean;
  files: number;
}

const sha256 = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex");

/** A policy's content key: sha256 over the sorted sha256 of each file's text (path-independent, as a host's policy record can be compared with it). */
export function contentKey(fileHashes: readonly string[]): string {
  return sha256([...fileHashes].sort().join("\n"));
}

export type Published = { version: VersionSummary } | { problems: PolicyProblem[] } | { refused: string };


/** Publishes a version: checked, stored, and (when no approval is required) signed and put in force at once. */
export async function publishVersion(pool: Pool, key: HubKey, req: { files: PolicyFileText[]; message: string; author: string; group?: string | null; approvalRequired: boolean; now?: Date }): Promise<Published> {
  const shape = filesProblem(req.files);
  if (shape) return { refused: shape };
  if (typeof req.message !== "string" || req.message.trim() === "" || req.message.length > 4000) return { refused: "a publication needs a message (what changed and why; at most 4,000 characters)" };
  const now = req.now ?? new Date();
  const problems = checkPublishedPolicy(req.files, now.toISOString().slice(0, 10));
  if (problems.length) return { problems };
  const files = [...req.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const content = contentKey(files.map((f) => sha256(f.text)));
  return inTransaction(pool, async (c) => {
    const row = (await c.query<{ id: string }>("INSERT INTO hub_policy_versions (content, host_group, files, author, message, published_at, status) VALUES ($1, $2, $3, $4, $5, $6, 'pending') RETURNING id", [content, req.group ?? null, JSON.stringify(files), req.author, req.message, now])).rows[0]!;
    const id = Number(row.id);
    await audit(c, req.author, "policy.publish", `policy:${id}`, { content, group: req.group ?? null, files: files.length, message: req.message });
    if (!req.approvalRequired) await decide(c, key, id, req.author, "approved", "approval not required by the hub's configuration", now);
    return { version: (await summaries(c, id))[0]! };
  });
}

/** Approves or rejects a pending version. The author may not decide on their own version when approval is required. */
export async function decideVersion(pool: Pool, key: HubKey, req: { id: number; by: string; decision: "approved" | "rejected"; reason?: string; now?: Date }): Promise<{ version: VersionSummary } | { refused: string }> {
  return inTransaction(pool, async (c) => {
    const v = (await c.query<{ author: string; status: string }>("SELECT author, status FROM hub_policy_versions WHERE id = $1 FOR UPDATE", [req.id])).rows[0];
    if (!v) return { refused: `there is no policy version ${req.id}` };
    if (v.status !== "pending") return { refused: `policy version ${req.id} was ${v.status} already` };
    if (v.author === req.by) return { refused: `${req.by} published policy version ${req.id}: someone else must ${req.decision === "approved" ? "approve" : "reject"} it (separation of duties)` };
    await decide(c, key, req.id, req.by, req.decision, req.reason ?? null, req.now ?? new Date());
    return { version: (await summaries(c, req.id))[0]! };
  });
}

async function decide(c: PoolClient, key: HubKey, id: number, by: string, decision: "approved" | "rejected", reason: string | null, now: Date): Promise<void> {
  if (decision === "rejected") {
    await c.query("UPDATE hub_policy_versions SET status = 'rejected', decided_by = $2, decided_at = $3, decision_reason = $4 WHERE id = $1", [id, by, now, reason]);
    await audit(c, by, "policy.reject", `policy:${id}`, { reason });
    return;
  }
  const v = (await c.query<{ content: string; host_group: string | null; files: PolicyFileText[]; author: string; message: string; published_at: Date }>("SELECT content, host_group, files, author, message, published_at FROM hub_policy_versions WHERE id = $1", [id])).rows[0]!;
  const statement: PolicyStatement = {
    format: STATEMENT_FORMAT,
    version: 1,
    id,
    content: v.content,
    group: v.host_group,
    files: v.files.map((f) => ({ path: f.path, sha256: sha256(f.text) })),
    author: v.author,
    message: v.message,
    publishedAt: v.published_at.toISOString(),
    approvedBy: by,
    approvedAt: now.toISOString(),
    hub: key.fingerprint,
  };
  const bytes = Buffer.from(JSON.stringify(statement), "utf8");
  await c.query("UPDATE hub_policy_versions SET status = 'approved', decided_by = $2, decided_at = $3, decision_reason = $4, statement = $5, signature = $6 WHERE id = $1", [id, by, now, reason, bytes, sign(null, bytes, key.privateKey)]);
  await catalogueContent(c, v.content, v.files, { read: now, adopted: now });
  await c.query("INSERT INTO hub_policy_current (host_group, version_id, since) VALUES ($1, $2, $3) ON CONFLICT (host_group) DO UPDATE SET version_id = excluded.version_id, since = excluded.since", [v.host_group ?? "", id, now]);
  await audit(c, by, "policy.approve", `policy:${id}`, { reason, group: v.host_group });
}

async function summaries(c: PoolClient | Pool, id?: number): Promise<VersionSummary[]> {
  const rows = await c.query<{ id: string; content: string; host_group: string | null; author: string; message: string; published_at: Date; status: VersionSummary["status"]; decided_by: string | null; decided_at: Date | null; decision_reason: string | null; current: boolean; files: number }>(
    `SELECT v.id, v.content, v.host_group, v.author, v.message, v.published_at, v.status, v.decided_by, v.decided_at, v.decision_reason,
            EXISTS (SELECT 1 FROM hub_policy_current c WHERE c.version_id = v.id) AS current, jsonb_array_length(v.files) AS files
     FROM hub_policy_versions v ${id === undefined ? "" : "WHERE v.id = $1"} ORDER BY v.id DESC LIMIT 500`,
    id === undefined ? [] : [id],
  );
  return rows.rows.map((r) => ({ id: Number(r.id), content: r.content, group: r.host_group, author: r.author, message: r.message, publishedAt: r.published_at, status: r.status, decidedBy: r.decided_by, decidedAt: r.decided_at, reason: r.decision_reason, current: r.current, files: r.files }));
}

/** The newest versions, newest first. */
export function listVersions(pool: Pool): Promise<VersionSummary[]> {
  return summaries(pool);
}

/** What a host fetches: the version in force for its group (else the one for every host), signed. */
export interface SignedPolicy {
  statement: string;
  signature: string;
  files: PolicyFileText[];
}

export async function policyForHost(pool: Pool, host: string): Promise<SignedPolicy | undefined> {
  const row = (await pool.query<{ statement: Buffer; signature: Buffer; files: PolicyFileText[] }>(
    `SELECT v.statement, v.signature, v.files FROM hub_hosts h
     JOIN hub_policy_current c ON c.host_group = coalesce(h.host_group, '') OR c.host_group = ''
     JOIN hub_policy_versions v ON v.id = c.version_id
     WHERE h.id = $1 ORDER BY (c.host_group = '') LIMIT 1`,
    [host],
  )).rows[0];
  if (!row) return undefined;
  return { statement: row.statement.toString("utf8"), signature: row.signature.toString("base64"), files: row.files };
}
