// The control catalogue: what each control is (title, owner, severity, key flag, framework refs),
// read from the policies the hub sees, the ones hosts push (their policy records hold the files'
// text) and the versions approved. Each distinct content is checked once, with the checker a
// report uses for stored versions; a content that no longer checks is noted, not fatal.
//
// A host's policy is its own word, and any enrolled host can push any policy: what it says of a
// control never replaces what an approved version says (a host would otherwise rename another
// team's control, move it to an owner of its choosing or lower its severity). An approved
// version's design is written whenever it is approved, even when its content was read before
// (from a host running it), so that approving puts back what a host had written first.
import type { PoolClient } from "pg";
import { checkStoredPolicy } from "../../report/stored-policy.js";

export interface PolicyText {
  path: string;
  text: string;
}

/** Where a content comes from: a host's policy record, or a policy version being approved. */
export type CatalogueSource = "pushed" | "approved";

/** Reads a content's controls into the catalogue unless it was read already (an approved one always). */
export async function catalogueContent(client: PoolClient, content: string, files: readonly PolicyText[], now: Date, source: CatalogueSource): Promise<void> {
  if (source === "pushed") {
    const known = await client.query("SELECT 1 FROM hub_policy_contents WHERE content = $1", [content]);
    if (known.rowCount) return;
  }
  const checked = checkStoredPolicy(content, files.map((f) => ({ path: f.path, text: f.text, sha256: "", bytes: 0 })), now.toISOString().slice(0, 10));
  const controls = [...checked.controls.values()];
  const inserted = await client.query("INSERT INTO hub_policy_contents (content, checked_at, problem, controls) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", [content, now, checked.problem ?? null, controls.length]);
  if ((source === "pushed" && !inserted.rowCount) || controls.length === 0) return;
  // a pushed content replaces a control's design only when no approved version wrote it
  await client.query(
    `INSERT INTO hub_controls AS h (control, title, description, owner, severity, key_control, refs, promises, content, updated_at)
     SELECT c.id, c.title, c.description, c.owner, c.severity, c.key, ARRAY(SELECT jsonb_array_elements_text(c.refs)), c.promises, $1, $2
     FROM jsonb_to_recordset($3::jsonb) AS c (id text, title text, description text, owner text, severity text, key boolean, refs jsonb, promises int)
     ON CONFLICT (control) DO UPDATE SET title = excluded.title, description = excluded.description, owner = excluded.owner, severity = excluded.severity,
       key_control = excluded.key_control, refs = excluded.refs, promises = excluded.promises, content = excluded.content, updated_at = excluded.updated_at
     WHERE $4 OR NOT EXISTS (SELECT 1 FROM hub_policy_versions v WHERE v.content = h.content AND v.status = 'approved')`,
    [
      content,
      now,
      JSON.stringify(controls.map((c) => ({ id: c.control.id, title: c.control.title, description: c.control.description ?? null, owner: c.control.owner ?? null, severity: c.control.severity, key: c.control.key, refs: c.control.refs, promises: c.promises.length }))),
      source === "approved",
    ],
  );
}
