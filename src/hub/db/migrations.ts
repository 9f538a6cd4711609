// The hub's schema, as numbered migrations applied in order when a hub process starts. Several
// hub processes may start at once against one database: the first takes an advisory lock and
// applies what is missing, the others wait for it and find nothing left to do. A migration is
// never edited once released; a change is a new migration.
import type { PoolClient } from "pg";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The key of the advisory lock migrations are applied under (any fixed 64-bit number). */
const MIGRATION_LOCK = 7_406_339_021;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "hosts, enrolment tokens, records by month, incidents, the audit log",
    sql: `
CREATE TABLE hub_hosts (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  public_key bytea NOT NULL CHECK (length(public_key) = 32),
  fingerprint text NOT NULL UNIQUE,
  host_group text,
  enrolled_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  revoked_reason text,
  -- the chain as the hub holds it: restarted (epoch + 1) only when an administrator accepts a host's new history
  epoch integer NOT NULL DEFAULT 0,
  last_seq bigint NOT NULL DEFAULT 0,
  last_chain bytea NOT NULL,
  first_seq bigint,
  prune_cut bigint,
  records bigint NOT NULL DEFAULT 0,
  head_seq bigint,
  last_push_at timestamptz,
  last_sent_at text,
  clock_skew_ms bigint,
  chain_status text NOT NULL DEFAULT 'ok' CHECK (chain_status IN ('ok', 'fork', 'rollback', 'gap'))
);

CREATE TABLE hub_enroll_tokens (
  token_hash bytea PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  created_by text NOT NULL,
  host_group text,
  note text,
  used_at timestamptz,
  used_by uuid REFERENCES hub_hosts (id)
);

-- every record every host pushed, as its line; partitioned by the month the hub received it, so
-- that a month is dropped or archived whole (docs/hub.md)
CREATE TABLE hub_records (
  host_id uuid NOT NULL,
  epoch integer NOT NULL,
  seq bigint NOT NULL,
  kind text NOT NULL,
  run bigint NOT NULL,
  host_time text NOT NULL,
  received_at timestamptz NOT NULL,
  chain bytea NOT NULL,
  line text NOT NULL,
  PRIMARY KEY (host_id, epoch, seq, received_at)
) PARTITION BY RANGE (received_at);
CREATE TABLE hub_records_default PARTITION OF hub_records DEFAULT;

CREATE TABLE hub_incidents (
  id bigserial PRIMARY KEY,
  host_id uuid NOT NULL REFERENCES hub_hosts (id),
  kind text NOT NULL CHECK (kind IN ('fork', 'rollback', 'gap', 'clock')),
  epoch integer NOT NULL,
  seq bigint,
  opened_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  seen integer NOT NULL DEFAULT 1,
  message text NOT NULL,
  detail jsonb NOT NULL DEFAULT '{}',
  resolved_at timestamptz,
  resolved_by text
);
CREATE UNIQUE INDEX hub_incidents_open ON hub_incidents (host_id, kind) WHERE resolved_at IS NULL;

CREATE TABLE hub_audit (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor text NOT NULL,
  action text NOT NULL,
  object text,
  detail jsonb NOT NULL DEFAULT '{}'
);
CREATE FUNCTION hub_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'hub_audit is append-only: % refused', TG_OP;
END $$;
CREATE TRIGGER hub_audit_no_change BEFORE UPDATE OR DELETE ON hub_audit FOR EACH ROW EXECUTE FUNCTION hub_audit_append_only();
CREATE TRIGGER hub_audit_no_truncate BEFORE TRUNCATE ON hub_audit FOR EACH STATEMENT EXECUTE FUNCTION hub_audit_append_only();
`,
  },
  {
    version: 2,
    name: "the fleet's state derived from pushed records: each promise's outcome, each change, each host's last run",
    sql: `
-- each promise's current outcome on each host, from the newest change record pushed
CREATE TABLE hub_promise_state (
  host_id uuid NOT NULL REFERENCES hub_hosts (id),
  key text NOT NULL,
  control text NOT NULL,
  type text NOT NULL,
  promiser text NOT NULL,
  outcome text NOT NULL,
  since text NOT NULL,
  seq bigint NOT NULL,
  reason text NOT NULL,
  PRIMARY KEY (host_id, key)
);
CREATE INDEX hub_promise_state_control ON hub_promise_state (control, outcome);

-- every change of a promise's state, for the fleet's charts and for drift across many hosts
CREATE TABLE hub_changes (
  host_id uuid NOT NULL REFERENCES hub_hosts (id),
  seq bigint NOT NULL,
  key text NOT NULL,
  control text NOT NULL,
  from_outcome text,
  to_outcome text NOT NULL,
  host_time text NOT NULL,
  received_at timestamptz NOT NULL,
  PRIMARY KEY (host_id, seq)
);
CREATE INDEX hub_changes_control_time ON hub_changes (control, received_at);

ALTER TABLE hub_hosts
  ADD COLUMN last_run_seq bigint,
  ADD COLUMN last_run_finished text,
  ADD COLUMN last_run_kind text,
  ADD COLUMN policy_hash text,
  ADD COLUMN promises integer,
  ADD COLUMN counts jsonb,
  ADD COLUMN prune_confirmed boolean NOT NULL DEFAULT false;
`,
  },
  {
    version: 3,
    name: "people and access: users, role grants, sessions, API tokens, login attempts, control owners",
    sql: `
CREATE TABLE hub_users (
  id bigserial PRIMARY KEY,
  name text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._@-]{0,63}$'),
  display_name text NOT NULL DEFAULT '',
  -- scrypt$N$r$p$salt$hash (passwords.ts): the parameters kept with the hash, so they can be raised
  password_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL,
  disabled_at timestamptz,
  disabled_by text
);

-- one role per row; operations is scoped to a host group, a control owner to a control or an owner
CREATE TABLE hub_grants (
  id bigserial PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES hub_users (id),
  role text NOT NULL CHECK (role IN ('administrator', 'author', 'approver', 'owner', 'operations', 'auditor')),
  scope_kind text CHECK (scope_kind IN ('group', 'control', 'owner')),
  scope_value text CHECK (length(scope_value) BETWEEN 1 AND 200),
  granted_at timestamptz NOT NULL DEFAULT now(),
  granted_by text NOT NULL,
  CHECK ((scope_kind IS NULL) = (scope_value IS NULL)),
  CHECK (CASE role WHEN 'operations' THEN scope_kind = 'group' WHEN 'owner' THEN scope_kind IN ('control', 'owner') ELSE scope_kind IS NULL END)
);
CREATE UNIQUE INDEX hub_grants_once ON hub_grants (user_id, role, coalesce(scope_kind, ''), coalesce(scope_value, ''));

-- a browser's session: only the sha256 of the cookie's random id is kept
CREATE TABLE hub_sessions (
  id_hash bytea PRIMARY KEY CHECK (length(id_hash) = 32),
  user_id bigint NOT NULL REFERENCES hub_users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  address text
);
CREATE INDEX hub_sessions_user ON hub_sessions (user_id);

CREATE TABLE hub_api_tokens (
  id bigserial PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES hub_users (id),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  revoked_at timestamptz,
  last_used_at timestamptz
);
CREATE INDEX hub_api_tokens_user ON hub_api_tokens (user_id);

-- every login attempt, for throttling by user name and by client address (throttle.ts)
CREATE TABLE hub_login_attempts (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  user_name text NOT NULL,
  address text NOT NULL,
  ok boolean NOT NULL
);
CREATE INDEX hub_login_attempts_name ON hub_login_attempts (user_name, at);
CREATE INDEX hub_login_attempts_address ON hub_login_attempts (address, at);

-- which owner a control has, for grants that name an owner rather than controls
CREATE TABLE hub_control_owners (
  control text PRIMARY KEY,
  owner text NOT NULL,
  set_at timestamptz NOT NULL DEFAULT now(),
  set_by text NOT NULL
);

-- a field of a pushed change record's body, or NULL when the line is not JSON PostgreSQL takes
-- (a host's line must never make a query fail for everyone)
CREATE FUNCTION hub_change_field(line text, field text) RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  RETURN line::jsonb -> 'body' ->> field;
EXCEPTION WHEN others THEN
  RETURN NULL;
END $$;
`,
  },
  {
    version: 4,
    name: "the fleet monitor: its deficiencies, their events, the outbox and the notification log",
    sql: `
-- a deficiency of the fleet (a host silent, a chain in doubt, a control drifting on many hosts),
-- as src/notifiers/contract.ts's Deficiency (body); one open per key, kept as evidence once resolved
CREATE TABLE hub_fleet_deficiencies (
  id text PRIMARY KEY,
  key text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('silent', 'chain', 'mass-drift', 'system')),
  status text NOT NULL CHECK (status IN ('open', 'resolved')),
  host_id uuid REFERENCES hub_hosts (id),
  body jsonb NOT NULL,
  -- the monitor's own account of the episode: the push it was silent after, the incident, the wave's hosts
  detail jsonb NOT NULL DEFAULT '{}',
  opened_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  resolved_at timestamptz
);
CREATE UNIQUE INDEX hub_fleet_deficiencies_open ON hub_fleet_deficiencies (key) WHERE status = 'open';

-- what routing has still to see: a deficiency opened, updated or resolved
CREATE TABLE hub_notify_events (
  seq bigserial PRIMARY KEY,
  deficiency text NOT NULL REFERENCES hub_fleet_deficiencies (id),
  event text NOT NULL CHECK (event IN ('opened', 'updated', 'resolved')),
  at timestamptz NOT NULL,
  routed boolean NOT NULL DEFAULT false
);
CREATE INDEX hub_notify_events_unrouted ON hub_notify_events (seq) WHERE NOT routed;

-- planned messages until delivered or given up (at least once: a resend carries the same id)
CREATE TABLE hub_notify_messages (
  id text PRIMARY KEY,
  channel text NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'retrying', 'sent', 'given-up')),
  attempts integer NOT NULL DEFAULT 0,
  due_at bigint NOT NULL,
  body jsonb NOT NULL,
  last_error text,
  created_at text NOT NULL,
  sent_at text
);
CREATE INDEX hub_notify_messages_due ON hub_notify_messages (due_at, created_at, id) WHERE status IN ('pending', 'retrying');

-- the notification log: what each group told each recipient, and when
CREATE TABLE hub_notify_groups (
  route text NOT NULL,
  group_key text NOT NULL,
  recipient text NOT NULL,
  body jsonb NOT NULL,
  PRIMARY KEY (route, group_key, recipient)
);

-- the changes to drift, failed or error by the time the hub received them: the monitor's window
-- (hub_changes_control_time leads with the control, and would have the window read every change)
CREATE INDEX hub_changes_deficient_received ON hub_changes (received_at) WHERE to_outcome IN ('drift', 'failed', 'error');

-- the run summaries' finish times (the host's clock) of each host's latest runs, newest last,
-- and the cadence learned from them (the median interval), for a host that hub.yaml gives none
ALTER TABLE hub_hosts ADD COLUMN recent_runs text[] NOT NULL DEFAULT '{}', ADD COLUMN learned_every_ms bigint;
`,
  },
  {
    version: 5,
    name: "policy versions: published, checked, approved by another person, signed by the hub; what each host runs",
    sql: `
CREATE TABLE hub_policy_versions (
  id bigserial PRIMARY KEY,
  -- sha256 over the sorted sha256 of each file's text: the same whatever directory a host keeps it in
  content text NOT NULL,
  host_group text,
  files jsonb NOT NULL,
  author text NOT NULL,
  message text NOT NULL,
  published_at timestamptz NOT NULL DEFAULT now(),
  status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
  decided_by text,
  decided_at timestamptz,
  decision_reason text,
  -- the hub's Ed25519 signature over the version's statement (policy/versions.ts), made when approved
  statement bytea,
  signature bytea
);
CREATE INDEX hub_policy_versions_content ON hub_policy_versions (content);

-- the version hosts of a group fetch ('' for hosts in no group without a version of their own)
CREATE TABLE hub_policy_current (
  host_group text PRIMARY KEY,
  version_id bigint NOT NULL REFERENCES hub_policy_versions (id),
  since timestamptz NOT NULL DEFAULT now()
);

-- what each host runs, from its pushed records: a policy record's content, a run summary naming it
CREATE TABLE hub_host_policies (
  host_id uuid NOT NULL REFERENCES hub_hosts (id),
  policy_hash text NOT NULL,
  content text NOT NULL,
  first_record bigint NOT NULL,
  PRIMARY KEY (host_id, policy_hash)
);
ALTER TABLE hub_hosts ADD COLUMN policy_content text, ADD COLUMN policy_since text;
`,
  },
  {
    version: 6,
    name: "the control catalogue: each control's design, from the policies hosts run and the versions published",
    sql: `
-- each distinct policy content the hub has seen (pushed by a host, or published), checked once
CREATE TABLE hub_policy_contents (
  content text PRIMARY KEY,
  checked_at timestamptz NOT NULL DEFAULT now(),
  problem text,
  controls integer NOT NULL DEFAULT 0
);

-- each control as the newest content defining it says: what the dashboard and fleet reports show
CREATE TABLE hub_controls (
  control text PRIMARY KEY,
  title text NOT NULL,
  description text,
  owner text,
  severity text NOT NULL,
  key_control boolean NOT NULL,
  refs text[] NOT NULL DEFAULT '{}',
  promises integer NOT NULL,
  content text NOT NULL REFERENCES hub_policy_contents (content),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hub_controls_owner ON hub_controls (owner);
`,
  },
  {
    version: 7,
    name: "decisions given on the hub (acknowledgements, integrity approvals, waivers), and each host's deficiencies as its records say",
    sql: `
-- the id deficiency ids of a host are made with (an HMAC of a label under the host's first host
-- key: never the key), as its pushes say it, so that the hub names deficiencies as the host does
ALTER TABLE hub_hosts ADD COLUMN deficiency_key text;

-- each host's deficiencies, derived from its change records: opened by a change to a deficient
-- outcome, resolved by a change to any other; acknowledged by an ack record
CREATE TABLE hub_deficiencies (
  host_id uuid NOT NULL REFERENCES hub_hosts (id),
  id text NOT NULL,
  key text NOT NULL,
  control text NOT NULL,
  type text NOT NULL,
  promiser text NOT NULL,
  outcome text NOT NULL,
  reason text NOT NULL DEFAULT '',
  opened_seq bigint NOT NULL,
  opened_at text NOT NULL,
  resolved_seq bigint,
  acked_by text,
  acked_seq bigint,
  PRIMARY KEY (host_id, id)
);
CREATE INDEX hub_deficiencies_open ON hub_deficiencies (host_id, key) WHERE resolved_seq IS NULL;

-- what people decided on the hub for one host: pending until a push reply carries it (delivered,
-- and carried again in every reply until the host's record of it arrives), then applied or
-- refused as that record says; a pending or delivered one may be withdrawn
CREATE TABLE hub_decisions (
  id bigserial PRIMARY KEY,
  host_id uuid NOT NULL REFERENCES hub_hosts (id),
  kind text NOT NULL CHECK (kind IN ('ack', 'integrity-approval', 'waiver')),
  control text NOT NULL,
  -- what it names: the deficiency (ack), the promise and the state approved, the waiver's dates
  subject jsonb NOT NULL,
  reason text NOT NULL,
  given_by text NOT NULL,
  given_at timestamptz NOT NULL DEFAULT now(),
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'applied', 'refused', 'withdrawn')),
  delivered_at timestamptz,
  deliveries integer NOT NULL DEFAULT 0,
  answered_at timestamptz,
  host_record bigint,
  host_reason text,
  withdrawn_by text,
  withdrawn_at timestamptz,
  -- random, with the id in what hosts are sent ("<id>-<nonce>"): a hub restored from a backup, or
  -- another hub a host enrols with, numbers decisions again from where it stands, and a host
  -- must not take a new decision for one it answered already
  nonce text NOT NULL DEFAULT substr(replace(gen_random_uuid()::text, '-', ''), 1, 16)
);
CREATE INDEX hub_decisions_waiting ON hub_decisions (host_id, id) WHERE state IN ('pending', 'delivered');
CREATE INDEX hub_decisions_host ON hub_decisions (host_id, given_at);
`,
  },
  {
    version: 8,
    name: "the dashboard's control page: integrity approvals and unapproved integrity changes, each change's reason",
    sql: `
-- what a host's records say of its approved integrity states: an approval record (first-seen,
-- init, approve, repaired), or a change to a deficient outcome that carries file-integrity
-- findings (an unapproved change). control is the change's; an approval names a promise or
-- targets, given to controls when read (the host's promises say which).
CREATE TABLE hub_integrity_events (
  host_id uuid NOT NULL REFERENCES hub_hosts (id),
  seq bigint NOT NULL,
  kind text NOT NULL CHECK (kind IN ('approval', 'unapproved')),
  control text,
  promise text,
  targets text[] NOT NULL DEFAULT '{}',
  host_time text NOT NULL,
  received_at timestamptz NOT NULL,
  detail jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (host_id, seq)
);
CREATE INDEX hub_integrity_events_control ON hub_integrity_events (control, host_time) WHERE control IS NOT NULL;
CREATE INDEX hub_integrity_events_approvals ON hub_integrity_events (host_time) WHERE kind = 'approval';

-- what differed when a promise changed state (the episode's reason on the control's page)
ALTER TABLE hub_changes ADD COLUMN reason text;
`,
  },
  {
    version: 9,
    name: "the fleet overview: verdicts per host group and control, rolled up; indexes for the dashboard's lists",
    sql: `
-- how many hosts of each group have each control at each verdict (the worst outcome of the
-- control's promises on the host), from hub_promise_state: the overview reads these few thousand
-- rows instead of millions (dashboard/overview-rollup.ts recomputes it when pushes have moved
-- the fleet, at most every few seconds, never in a push's transaction)
CREATE TABLE hub_overview_rollup (
  host_group text NOT NULL,
  control text NOT NULL,
  outcome text NOT NULL,
  hosts integer NOT NULL,
  PRIMARY KEY (host_group, control, outcome)
);
CREATE TABLE hub_overview_state (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  computed_at timestamptz NOT NULL,
  took_ms integer NOT NULL
);
CREATE INDEX hub_hosts_name ON hub_hosts (name, id);
CREATE INDEX hub_hosts_group_name ON hub_hosts (host_group, name, id);
CREATE INDEX hub_hosts_last_push ON hub_hosts (last_push_at);
CREATE INDEX hub_hosts_doubt ON hub_hosts (name, id) WHERE chain_status <> 'ok';
CREATE INDEX hub_fleet_deficiencies_open_kind ON hub_fleet_deficiencies (kind, opened_at) WHERE status = 'open';
`,
  },
];

/** The newest schema this hub knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export class SchemaTooNew extends Error {}

/**
 * What keeps a command that does not migrate (every admin command but `hub serve` and `hub
 * migrate`) from using the database: a schema older than this hub's (or none), or newer; undefined
 * when it is this hub's. Such a command never migrates: a schema changes only when someone asks.
 */
export async function schemaProblem(client: PoolClient): Promise<string | undefined> {
  const table = await client.query<{ t: string | null }>("SELECT to_regclass('hub_schema')::text AS t");
  const newest = table.rows[0]?.t ? Number((await client.query<{ v: number | null }>("SELECT max(version) AS v FROM hub_schema")).rows[0]?.v ?? 0) : 0;
  if (newest > SCHEMA_VERSION) return `the database's hub schema is version ${newest}, newer than this hub's ${SCHEMA_VERSION}: upgrade this hub`;
  if (newest < SCHEMA_VERSION) return `the database's hub schema is ${newest ? `version ${newest}` : "not made yet"}, older than this hub's ${SCHEMA_VERSION}: run \`covenant hub migrate\` (or start \`covenant hub serve\`) first`;
  return undefined;
}

/**
 * Applies the migrations the database lacks, under an advisory lock, each in its own transaction;
 * returns the versions applied. A database whose schema is newer than this hub knows is refused:
 * an older hub must not write into a schema it does not understand.
 */
export async function migrate(client: PoolClient): Promise<number[]> {
  await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
  try {
    await client.query("CREATE TABLE IF NOT EXISTS hub_schema (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
    const done = new Set((await client.query<{ version: number }>("SELECT version FROM hub_schema")).rows.map((r) => r.version));
    const newest = Math.max(0, ...done);
    if (newest > SCHEMA_VERSION) throw new SchemaTooNew(`the database's hub schema is version ${newest}, newer than this hub's ${SCHEMA_VERSION}: upgrade this hub`);
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await client.query("BEGIN");
      try {
        await client.query(m.sql);
        await client.query("INSERT INTO hub_schema (version, name) VALUES ($1, $2)", [m.version, m.name]);
        await client.query("COMMIT");
      } catch (err) {
        await client.query("ROLLBACK");
        throw err;
      }
      applied.push(m.version);
    }
    return applied;
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]);
  }
}
