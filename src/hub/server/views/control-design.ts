// A control's design as the hub knows it: the catalogue's row (hub_controls), the promises and
// waivers as the policy text writes them, and every policy content that defined the control:
// each published version of it (author, approver, the groups it is in force for and since when)
// and the hosts that adopted it (when their first run on it was recorded, by their clock, and
// when the hub received that record). The texts come from the published versions' files, else
// from a host's policy record (its files' text, checked against their hashes when pushed); each
// content is checked once per hub process with the checker the evidence report uses.
import type { Pool } from "pg";
import { checkStoredPolicy, type CheckedVersion, type WrittenPromise } from "../../../report/stored-policy.js";
import type { CheckedWaiver } from "../../../checker/policy.js";
import type { CataloguedControl } from "../catalogue.js";

/** The catalogue's row of a control (catalogue.ts keeps it): with the content that wrote it and when. */
export interface CatalogueRow extends Omit<CataloguedControl, "id"> {
  content: string;
  updatedAt: string;
}

export interface Adoption {
  host: string;
  hostName: string;
  group: string | null;
  policyHash: string;
  /** the host's clock on its policy record (the first run on this content) */
  at: string;
  receivedAt: string;
  /** whether the host runs it still */
  current: boolean;
}

export interface PublishedVersion {
  id: number;
  group: string | null;
  author: string;
  message: string;
  publishedAt: string;
  status: string;
  decidedBy: string | null;
  decidedAt: string | null;
  /** the groups ('' for hosts in none) for which it is the version in force, and since when */
  inForce: { group: string; since: string }[];
}

export interface ControlVersion {
  content: string;
  /** whether the control's text differs from the version listed before it */
  changed: boolean;
  firstSeen: string;
  published: PublishedVersion[];
  adoptions: Adoption[];
  /** hosts that adopted it, all of them (adoptions lists at most MAX_ADOPTIONS) */
  adoptedBy: number;
}

export interface ControlDesignView {
  catalogue: CatalogueRow | null;
  /** the content whose text is shown: the catalogue's, else the newest that defines it */
  textFrom: string | null;
  text: string | null;
  promises: WrittenPromise[];
  waivers: Omit<CheckedWaiver, "control" | "span">[];
  versions: ControlVersion[];
  /** the problem when a content's text no longer checks */
  problems: { content: string; problem: string }[];
}

const MAX_CONTENTS = 40;
const MAX_ADOPTIONS = 50;
const CACHE = 24;
const checked = new Map<string, CheckedVersion>();

/** A content's files: a published version's, else the policy record a host pushed. */
async function filesOf(pool: Pool, content: string): Promise<{ path: string; text: string }[] | undefined> {
  const v = await pool.query<{ files: { path: string; text: string }[] }>("SELECT files FROM hub_policy_versions WHERE content = $1 ORDER BY id DESC LIMIT 1", [content]);
  if (v.rows[0]) return v.rows[0].files;
  const r = await pool.query<{ files: { path: string; text: string }[] | null }>(
    `SELECT hub_change_field(r.line, 'files')::jsonb AS files FROM hub_host_policies p JOIN hub_records r ON r.host_id = p.host_id AND r.seq = p.first_record AND r.kind = 'policy'
     WHERE p.content = $1 LIMIT 1`,
    [content],
  );
  const files = r.rows[0]?.files;
  return Array.isArray(files) ? files.filter((f) => typeof f?.path === "string" && typeof f?.text === "string") : undefined;
}

async function checkedContent(pool: Pool, content: string): Promise<CheckedVersion | undefined> {
  const hit = checked.get(content);
  if (hit) {
    checked.delete(content);
    checked.set(content, hit);
    return hit;
  }
  const files = await filesOf(pool, content);
  if (!files || files.length === 0) return undefined;
  const v = checkStoredPolicy(content, files.map((f) => ({ path: f.path, text: f.text, sha256: "", bytes: 0 })), new Date().toISOString().slice(0, 10));
  checked.set(content, v);
  if (checked.size > CACHE) checked.delete(checked.keys().next().value!);
  return v;
}

async function catalogueRow(pool: Pool, control: string): Promise<CatalogueRow | null> {
  const r = await pool.query<CatalogueRow & { updatedAt: Date }>(
    `SELECT title, description, owner, severity, key_control AS key, refs, promises, content, updated_at AS "updatedAt" FROM hub_controls WHERE control = $1`,
    [control],
  );
  const row = r.rows[0];
  return row ? { ...row, updatedAt: row.updatedAt.toISOString() } : null;
}

/** The contents the hub knows, oldest first: published versions and the policies hosts run. */
async function knownContents(pool: Pool): Promise<{ content: string; firstSeen: Date }[]> {
  const r = await pool.query<{ content: string; first_seen: Date }>(
    `SELECT content, min(at) AS first_seen FROM (
       SELECT content, published_at AS at FROM hub_policy_versions WHERE status <> 'rejected'
       UNION ALL SELECT p.content, r.received_at FROM hub_host_policies p JOIN hub_records r ON r.host_id = p.host_id AND r.seq = p.first_record AND r.kind = 'policy') c
     GROUP BY content ORDER BY first_seen DESC LIMIT ${MAX_CONTENTS}`,
  );
  return r.rows.map((x) => ({ content: x.content, firstSeen: x.first_seen })).reverse();
}

async function publishedOf(pool: Pool, content: string): Promise<PublishedVersion[]> {
  const r = await pool.query<{ id: string; host_group: string | null; author: string; message: string; published_at: Date; status: string; decided_by: string | null; decided_at: Date | null; in_force: { group: string; since: string }[] }>(
    `SELECT v.id, v.host_group, v.author, v.message, v.published_at, v.status, v.decided_by, v.decided_at,
       coalesce((SELECT jsonb_agg(jsonb_build_object('group', c.host_group, 'since', c.since) ORDER BY c.host_group) FROM hub_policy_current c WHERE c.version_id = v.id), '[]') AS in_force
     FROM hub_policy_versions v WHERE v.content = $1 AND v.status <> 'rejected' ORDER BY v.id`,
    [content],
  );
  return r.rows.map((v) => ({ id: Number(v.id), group: v.host_group, author: v.author, message: v.message, publishedAt: v.published_at.toISOString(), status: v.status, decidedBy: v.decided_by, decidedAt: v.decided_at?.toISOString() ?? null, inForce: v.in_force.map((f) => ({ group: f.group, since: new Date(f.since).toISOString() })) }));
}

async function adoptionsOf(pool: Pool, content: string): Promise<{ adoptions: Adoption[]; total: number }> {
  const r = await pool.query<{ host: string; name: string; host_group: string | null; policy_hash: string; at: string; received_at: Date; current: boolean; total: string }>(
    // a host whose history was accepted anew holds the record number in two epochs: the first is its adoption
    `SELECT *, count(*) OVER () AS total FROM (
       SELECT DISTINCT ON (h.id, p.policy_hash) h.id AS host, h.name, h.host_group, p.policy_hash, r.host_time AS at, r.received_at, h.policy_content IS NOT DISTINCT FROM p.content AS current
       FROM hub_host_policies p JOIN hub_hosts h ON h.id = p.host_id JOIN hub_records r ON r.host_id = p.host_id AND r.seq = p.first_record AND r.kind = 'policy'
       WHERE p.content = $1 ORDER BY h.id, p.policy_hash, r.epoch) a
     ORDER BY at, name LIMIT ${MAX_ADOPTIONS}`,
    [content],
  );
  return {
    total: Number(r.rows[0]?.total ?? 0),
    adoptions: r.rows.map((a) => ({ host: a.host, hostName: a.name, group: a.host_group, policyHash: a.policy_hash, at: a.at, receivedAt: a.received_at.toISOString(), current: a.current })),
  };
}

export async function controlDesign(pool: Pool, control: string): Promise<ControlDesignView> {
  const catalogue = await catalogueRow(pool, control);
  const versions: ControlVersion[] = [];
  const problems: { content: string; problem: string }[] = [];
  let previousText: string | undefined;
  let newest: { content: string; version: CheckedVersion } | undefined;
  for (const { content, firstSeen } of await knownContents(pool)) {
    const v = await checkedContent(pool, content);
    // the checker's first error may quote another control's text: only the fact is shown
    if (v?.problem) problems.push({ content, problem: "its stored text no longer checks with this hub's checker, so what it says of the control is not shown" });
    const mine = v?.controls.get(control);
    if (!v || !mine) continue;
    newest = { content, version: v };
    const { adoptions, total } = await adoptionsOf(pool, content);
    versions.push({ content, changed: previousText !== undefined && previousText !== mine.text, firstSeen: firstSeen.toISOString(), published: await publishedOf(pool, content), adoptions, adoptedBy: total });
    previousText = mine.text;
  }
  const shownContent = catalogue?.content ?? newest?.content;
  const shown = shownContent ? await checkedContent(pool, shownContent) : undefined;
  const mine = shown?.controls.get(control);
  return {
    catalogue,
    textFrom: mine ? shownContent! : null,
    text: mine?.text ?? null,
    promises: mine?.promises ?? [],
    waivers: (mine?.waivers ?? []).map(({ control: _c, span: _s, ...w }) => w),
    versions,
    problems,
  };
}
