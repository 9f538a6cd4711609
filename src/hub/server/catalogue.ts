// The control catalogue: what each control is (title, owner, severity, key flag, framework refs),
// read from the policies the hub sees, the ones hosts push (their policy records hold the files'
// text) and the versions approved. Each distinct content is checked once, with the checker a
// report uses for stored versions; a content that no longer checks is noted, not fatal. A pushed
// content is only noted in the push's transaction (noteUncheckedContent): checking costs ~3.5 µs
// a byte, and a host must not hold the hub's event loop with a large policy; content-checker.ts
// checks it afterwards, in a thread of its own, and writes the catalogue then (catalogueChecked).
//
// Which content's word stands for a control (docs/hub.md, "What the hub derives"):
//  1. an approved version's, over any host's: a host's policy is its own word, and any enrolled
//     host can push any policy (it would otherwise rename another team's control, move it to an
//     owner of its choosing or lower its severity). The version approved last writes; it is
//     written whenever it is approved, even when its content was read before (from a host running
//     it), so that approving puts back what a host had written first.
//  2. else the pushed content adopted last: each content is dated by when a host took it in (its
//     policy record's `at`, from the first policy record that brought it to the hub), and a
//     content replaces the design only of controls written by an earlier one. The time the hub
//     happens to see a content says nothing of its age: a host still running last year's policy,
//     or pushing a week's backlog, brings old designs to the hub after the new one.
// hub_controls.updated_at is that date: the approval's, or the pushed content's adoption.
import type { PoolClient } from "pg";
import { checkStoredPolicy } from "../../report/stored-policy.js";

export interface PolicyText {
  path: string;
  text: string;
}

/** Where a content comes from: a host's policy record, or a policy version being approved. */
export type CatalogueSource = "pushed" | "approved";

/** When the hub read a content, and when it was adopted (approved, or taken in by a host): the date its design is ranked by. */
export interface CatalogueDates {
  read: Date;
  adopted: Date;
}

/** A control as the catalogue keeps it. */
export interface CataloguedControl {
  id: string;
  title: string;
  description: string | null;
  owner: string | null;
  severity: string;
  key: boolean;
  refs: string[];
  promises: number;
}

/** What checking a content found: its controls, or why it does not check. */
export interface CheckedContent {
  problem: string | null;
  controls: CataloguedControl[];
}

/** hub_policy_contents.problem of a pushed content not checked yet (content-checker.ts checks it). */
export const UNCHECKED = "not checked yet";

/** Checks a content's files (the caller's thread: content-checker.ts runs it in a thread of its own for pushed contents). */
export function checkContent(content: string, files: readonly PolicyText[], read: Date): CheckedContent {
  const checked = checkStoredPolicy(content, files.map((f) => ({ path: f.path, text: f.text, sha256: "", bytes: 0 })), read.toISOString().slice(0, 10));
  const controls = [...checked.controls.values()].map((c) => ({ id: c.control.id, title: c.control.title, description: c.control.description ?? null, owner: c.control.owner ?? null, severity: c.control.severity, key: c.control.key, refs: [...c.control.refs], promises: c.promises.length }));
  return { problem: checked.problem ?? null, controls };
}

/** Notes a pushed content, in the push's transaction, as not checked yet; true when the hub had not seen it. */
export async function noteUncheckedContent(client: PoolClient, content: string, read: Date): Promise<boolean> {
  const inserted = await client.query("INSERT INTO hub_policy_contents (content, checked_at, problem, controls) VALUES ($1, $2, $3, 0) ON CONFLICT DO NOTHING", [content, read, UNCHECKED]);
  return (inserted.rowCount ?? 0) > 0;
}

/** Checks an approved version's content and writes its design (an approver's request: the version was checked as it was published). */
export async function catalogueContent(client: PoolClient, content: string, files: readonly PolicyText[], dates: CatalogueDates): Promise<void> {
  await catalogueChecked(client, content, checkContent(content, files, dates.read), dates, "approved");
}

/** Records what checking a content found, and writes its controls' design where the rule above lets it. */
export async function catalogueChecked(client: PoolClient, content: string, checked: CheckedContent, dates: CatalogueDates, source: CatalogueSource): Promise<void> {
  await client.query(
    `INSERT INTO hub_policy_contents (content, checked_at, problem, controls) VALUES ($1, $2, $3, $4)
     ON CONFLICT (content) DO UPDATE SET checked_at = excluded.checked_at, problem = excluded.problem, controls = excluded.controls WHERE hub_policy_contents.problem = $5`,
    [content, dates.read, checked.problem, checked.controls.length, UNCHECKED],
  );
  if (checked.controls.length === 0) return;
  // a pushed content replaces a control's design only when no approved version wrote it, and an
  // earlier adopted content did
  await client.query(
    `INSERT INTO hub_controls AS h (control, title, description, owner, severity, key_control, refs, promises, content, updated_at)
     SELECT c.id, c.title, c.description, c.owner, c.severity, c.key, ARRAY(SELECT jsonb_array_elements_text(c.refs)), c.promises, $1, $2
     FROM jsonb_to_recordset($3::jsonb) AS c (id text, title text, description text, owner text, severity text, key boolean, refs jsonb, promises int)
     ON CONFLICT (control) DO UPDATE SET title = excluded.title, description = excluded.description, owner = excluded.owner, severity = excluded.severity,
       key_control = excluded.key_control, refs = excluded.refs, promises = excluded.promises, content = excluded.content, updated_at = excluded.updated_at
     WHERE $4 OR (NOT EXISTS (SELECT 1 FROM hub_policy_versions v WHERE v.content = h.content AND v.status = 'approved') AND h.updated_at < excluded.updated_at)`,
    [content, dates.adopted, JSON.stringify(checked.controls), source === "approved"],
  );
}
