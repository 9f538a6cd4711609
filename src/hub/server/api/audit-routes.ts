// The hub's audit log for administrators and auditors: read a page at a time (newest first,
// `?before=ID` for the next page), or exported over a period as CSV, the export itself recorded.
// Cells that a spreadsheet would take as a formula are quoted with a leading apostrophe.
import { audit } from "../audit.js";
import { AccessInputError, inTransaction } from "../../auth/users.js";
import type { Answer, Call, Handler } from "./registry.js";

const MAX_EXPORT_ROWS = 100_000;

interface AuditRow {
  id: number;
  at: Date;
  actor: string;
  action: string;
  object: string | null;
  detail: unknown;
}

async function auditRead(call: Call): Promise<Answer> {
  const before = call.query["before"];
  if (before !== undefined && !/^[1-9][0-9]{0,17}$/.test(before)) throw new AccessInputError("before is an entry's id");
  const size = Math.max(1, Math.min(500, Number.parseInt(call.query["size"] ?? "100", 10) || 100));
  const rows = await call.deps.pool.query<AuditRow>(
    "SELECT id::int AS id, at, actor, action, object, detail FROM hub_audit WHERE $1::bigint IS NULL OR id < $1::bigint ORDER BY id DESC LIMIT $2",
    [before ?? null, size],
  );
  const last = rows.rows.at(-1);
  return { status: 200, body: { entries: rows.rows, next: rows.rows.length === size && last ? `/api/audit?before=${last.id}&size=${size}` : null } };
}

function timeParam(v: string | undefined, name: string): Date | null {
  if (v === undefined || v === "") return null;
  const t = new Date(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(t.getTime())) throw new AccessInputError(`${name} is a date or time (ISO 8601)`);
  return t;
}

export function csvCell(v: unknown): string {
  let s = v === null || v === undefined ? "" : v instanceof Date ? v.toISOString() : typeof v === "string" ? v : JSON.stringify(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

async function auditExport(call: Call): Promise<Answer> {
  const from = timeParam(call.query["from"], "from");
  const to = timeParam(call.query["to"], "to");
  const actor = call.principal!.name;
  const rows = await inTransaction(call.deps.pool, async (c) => {
    const r = await c.query<AuditRow>(
      "SELECT id::int AS id, at, actor, action, object, detail FROM hub_audit WHERE ($1::timestamptz IS NULL OR at >= $1) AND ($2::timestamptz IS NULL OR at < $2) ORDER BY id LIMIT $3",
      [from, to, MAX_EXPORT_ROWS + 1],
    );
    if (r.rows.length > MAX_EXPORT_ROWS) throw new AccessInputError(`more than ${MAX_EXPORT_ROWS} entries: export a shorter period (from, to)`, 413);
    await audit(c, actor, "audit.export", null, { from: from?.toISOString() ?? null, to: to?.toISOString() ?? null, entries: r.rows.length });
    return r.rows;
  });
  const lines = ["id,at,actor,action,object,detail", ...rows.map((r) => [r.id, r.at, r.actor, r.action, r.object, r.detail].map(csvCell).join(","))];
  return { status: 200, raw: { type: "text/csv; charset=utf-8", text: lines.join("\r\n") + "\r\n" }, headers: { "content-disposition": 'attachment; filename="hub-audit.csv"' } };
}

export const auditHandlers: Record<string, Handler> = {
  "audit.read": auditRead,
  "audit.export": auditExport,
};
