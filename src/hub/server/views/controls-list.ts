// The controls as the dashboard's list and GET /api/controls both show them: every control the
// hub knows (the catalogue, the controls hosts report, those an administrator gave an owner),
// within the viewer's reach, with its design and how many hosts keep it now and how many are
// deficient (hub_promise_state: each host counted once, by the worst outcome of its promises of
// the control, as the control's page counts them). Filtered by owner, severity and framework ref.
import type { Pool } from "pg";
import { accessParams, type Access } from "../../auth/access.js";
import { AccessInputError } from "../../auth/users.js";

export interface ControlRow {
  control: string;
  title: string | null;
  owner: string | null;
  severity: string | null;
  key: boolean | null;
  refs: string[];
  /** hosts that report it */
  hosts: number;
  kept: number;
  deficient: number;
  other: number;
}

export interface ControlFilters {
  owner?: string;
  severity?: string;
  /** a framework ref as written (`SOX 404`, `COBIT:DSS05.04`), or its framework alone (`SOX`, `COBIT`) */
  ref?: string;
}

const FILTER = /^[A-Za-z0-9][A-Za-z0-9._:@ -]{0,99}$/;

export function filtersOf(query: Record<string, string>): ControlFilters {
  const out: ControlFilters = {};
  for (const k of ["owner", "severity", "ref"] as const) {
    const v: unknown = query[k];
    if (v === undefined || v === "") continue;
    // a parameter given twice comes as an array: refused as any other malformed value
    if (typeof v !== "string" || !FILTER.test(v)) throw new AccessInputError(`${k} is a name (letters, digits, '.', '_', ':', '@', '-')`);
    out[k] = v;
  }
  return out;
}

/**
 * SQL: whether a framework ref filter (the parameter `param`, or none) matches the refs `column`:
 * a ref as written, or its framework (the words before a ":" or a space: SOX for "SOX 404").
 * The controls list and the overview filter alike.
 */
export function refMatches(column: string, param: string): string {
  return `(${param}::text IS NULL OR EXISTS (SELECT 1 FROM unnest(${column}) AS x WHERE x = ${param} OR left(x, length(${param}) + 1) IN (${param} || ':', ${param} || ' ')))`;
}

export async function controlsList(pool: Pool, access: Access, f: ControlFilters, paging: { limit: number; offset: number }): Promise<{ total: number; controls: ControlRow[] }> {
  const [, , allControls, ids, owners] = accessParams(access);
  // one row whatever the page: the total counted even past the last page
  const r = await pool.query<{ total: number; controls: ControlRow[] }>(
    `WITH per_host AS (
       SELECT s.control, s.host_id, bool_or(s.outcome IN ('drift', 'failed', 'error')) AS deficient, bool_or(s.outcome = 'waived') AS waived, bool_or(s.outcome IN ('kept', 'repaired')) AS kept
       FROM hub_promise_state s JOIN hub_hosts h ON h.id = s.host_id WHERE h.revoked_at IS NULL GROUP BY s.control, s.host_id),
     counted AS (
       SELECT control, count(*)::int AS hosts, count(*) FILTER (WHERE deficient)::int AS deficient, count(*) FILTER (WHERE NOT deficient AND NOT waived AND kept)::int AS kept
       FROM per_host GROUP BY control),
     every AS (SELECT control FROM counted UNION SELECT control FROM hub_control_owners UNION SELECT control FROM hub_controls),
     described AS (
       SELECT e.control, c.title, coalesce(o.owner, c.owner) AS owner, c.severity, c.key_control AS key, coalesce(c.refs, '{}') AS refs,
         coalesce(n.hosts, 0) AS hosts, coalesce(n.kept, 0) AS kept, coalesce(n.deficient, 0) AS deficient, coalesce(n.hosts - n.kept - n.deficient, 0) AS other
       FROM every e LEFT JOIN hub_controls c USING (control) LEFT JOIN hub_control_owners o USING (control) LEFT JOIN counted n USING (control)),
     filtered AS (
       SELECT * FROM described d
       WHERE ($1 OR d.control = ANY($2::text[]) OR d.owner = ANY($3::text[]))
         AND ($4::text IS NULL OR d.owner = $4) AND ($5::text IS NULL OR d.severity = $5)
         AND ${refMatches("d.refs", "$6")}),
     shown AS (SELECT * FROM filtered ORDER BY control LIMIT $7 OFFSET $8)
     SELECT (SELECT count(*) FROM filtered)::int AS total, coalesce((SELECT jsonb_agg(s ORDER BY s.control) FROM shown s), '[]') AS controls`,
    [allControls, ids, owners, f.owner ?? null, f.severity ?? null, f.ref ?? null, paging.limit, paging.offset],
  );
  return r.rows[0]!;
}
