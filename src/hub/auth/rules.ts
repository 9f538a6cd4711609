// Who may do what on the hub, as data: every route people use is declared here, with what it
// does (read, write, export), to what kind of object, which roles may, and how far each role
// reaches. The server adds routes only through these declarations (server/api/registry.ts refuses
// a route that is not declared here), docs/hub-access.md is generated from them, and
// test/hub/access-matrix.test.ts sends every declared route as every role to objects in and out
// of the role's scope. The routes hosts use (signed with the host's key, not by people) are
// declared here too, as host routes. Pure data: nothing here touches the network or the database.

export const ROLES = ["administrator", "author", "approver", "owner", "operations", "auditor"] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_MEANING: Record<Role, string> = {
  administrator: "runs the hub: users and their grants, hosts, incidents, control owners",
  author: "writes policy (policy author): reads the controls",
  approver: "approves policy others wrote (separation of duties): reads the controls",
  owner: "a control owner, scoped to the controls named, or to every control of the owners named",
  operations: "runs hosts, scoped to host groups: their hosts, their incidents, revoking their hosts",
  auditor: "read-only, every control and host, with exports (the hub's audit log among them)",
};

/** How a grant of a role is scoped: `operations` to a host group, `owner` to a control or an owner. */
export const ROLE_SCOPE: Record<Role, readonly ("group" | "control" | "owner")[]> = {
  administrator: [],
  author: [],
  approver: [],
  owner: ["control", "owner"],
  operations: ["group"],
  auditor: [],
};

export type Action = "read" | "write" | "export";
export type ObjectKind = "session" | "user" | "token" | "audit" | "host" | "incident" | "control" | "policy" | "fleet" | "decision" | "page";

/**
 * How far a role reaches on a route:
 * - `all`: every object of the kind, all of its data
 * - `groups`: only hosts (and their incidents) in the host groups granted; others are not found
 * - `controls`: only the controls granted; others are not found
 * - `controls-data`: every host, but of its data only the controls granted
 * - `self`: only the user's own (session, tokens)
 */
export type Reach = "all" | "groups" | "controls" | "controls-data" | "self";

/** Which credentials a route takes: none (logging in), a browser session only, or a session or an API token. */
export type Credentials = "none" | "session" | "session-or-token";

export interface RouteRule {
  /** a stable name, used by the server to attach the handler and by the docs */
  id: string;
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  action: Action;
  object: ObjectKind;
  credentials: Credentials;
  /** the roles that may, with how far; a role not listed is refused (403). Absent for `none`. */
  who: Partial<Record<Role, Reach>>;
  /** the path parameter naming the one object acted on, resolved and held to the reach before the handler runs */
  target?: { param: string; kind: "host" | "incident" | "control" | "user" | "token" | "grant" | "policy" | "decision" };
  /** the largest body taken, when more than the 64 KiB every other route takes (a policy's files) */
  maxBody?: number;
  /** whether the route writes an entry in the hub's audit log */
  audited: boolean;
  /**
   * a dashboard page (or a page's form), answered with HTML rather than JSON: its refusals are
   * pages too (no session: a redirect to the sign-in page), and its writes come from forms
   */
  page?: boolean;
  summary: string;
}

const EVERYONE_SELF: Partial<Record<Role, Reach>> = { administrator: "self", author: "self", approver: "self", owner: "self", operations: "self", auditor: "self" };
const ADMIN: Partial<Record<Role, Reach>> = { administrator: "all" };
const HOST_READERS: Partial<Record<Role, Reach>> = { administrator: "all", auditor: "all", operations: "groups", owner: "controls-data" };
const CONTROL_READERS: Partial<Record<Role, Reach>> = { administrator: "all", auditor: "all", author: "all", approver: "all", owner: "controls" };
const POLICY_READERS: Partial<Record<Role, Reach>> = { administrator: "all", auditor: "all", author: "all", approver: "all" };
/** Who sees decisions given on the hub: whoever may give one (approvers give waivers), and auditors. */
const DECISION_READERS: Partial<Record<Role, Reach>> = { administrator: "all", auditor: "all", approver: "all", operations: "groups", owner: "controls-data" };

/** Who gives each kind of decision on the hub, by the API and by the dashboard's forms alike. */
const ACKERS: Partial<Record<Role, Reach>> = { administrator: "all", operations: "groups", owner: "controls-data" };
const WAIVERS: Partial<Record<Role, Reach>> = { approver: "all", owner: "controls" };
const CHANGE_APPROVERS: Partial<Record<Role, Reach>> = { administrator: "all", owner: "controls-data" };
const WITHDRAWERS: Partial<Record<Role, Reach>> = { administrator: "all", approver: "all", operations: "groups", owner: "controls-data" };

/**
 * The dashboard's pages and their forms (src/hub/dashboard/): HTML for a browser session only (an
 * API token reads the API, not pages), refused as pages (no session: to the sign-in page).
 */
export const PAGE_ROUTES: readonly RouteRule[] = [
  { id: "ui.root", method: "GET", path: "/", action: "read", object: "page", credentials: "none", who: {}, audited: false, page: true, summary: "the front door: to the overview (/ui)" },
  { id: "ui.style", method: "GET", path: "/ui/style.css", action: "read", object: "page", credentials: "none", who: {}, audited: false, page: true, summary: "the dashboard's one stylesheet (no script anywhere)" },
  { id: "ui.login-form", method: "GET", path: "/ui/login", action: "read", object: "page", credentials: "none", who: {}, audited: false, page: true, summary: "the sign-in page" },
  { id: "ui.login", method: "POST", path: "/ui/login", action: "write", object: "session", credentials: "none", who: {}, audited: true, page: true, summary: "sign in (the form of the sign-in page): as POST /api/login, then to the page asked for" },
  { id: "ui.logout", method: "POST", path: "/ui/logout", action: "write", object: "session", credentials: "session", who: EVERYONE_SELF, audited: true, page: true, summary: "sign out (the form on every page)" },
  { id: "ui.overview", method: "GET", path: "/ui", action: "read", object: "fleet", credentials: "session", who: HOST_READERS, audited: false, page: true, summary: "the fleet overview: verdicts per control and host group, open deficiencies with who was told, hosts not reporting, chains in doubt" },
  { id: "ui.hosts", method: "GET", path: "/ui/hosts", action: "read", object: "host", credentials: "session", who: HOST_READERS, audited: false, page: true, summary: "the hosts, a page at a time, filtered by group, chain status, silent" },
  { id: "ui.incidents", method: "GET", path: "/ui/incidents", action: "read", object: "incident", credentials: "session", who: { administrator: "all", auditor: "all", operations: "groups" }, audited: false, page: true, summary: "chains in doubt and clocks off, open first" },
  { id: "ui.incidents.resolve", method: "POST", path: "/ui/incidents/:incident/resolve", action: "write", object: "incident", credentials: "session", who: ADMIN, target: { param: "incident", kind: "incident" }, audited: true, page: true, summary: "the incident page's resolve form" },
  { id: "ui.policies", method: "GET", path: "/ui/policies", action: "read", object: "policy", credentials: "session", who: POLICY_READERS, audited: false, page: true, summary: "the policy versions, with approve and reject forms for approvers (never on their own)" },
  { id: "ui.policies.approve", method: "POST", path: "/ui/policies/:policy/approve", action: "write", object: "policy", credentials: "session", who: { approver: "all" }, target: { param: "policy", kind: "policy" }, audited: true, page: true, summary: "the policies page's approve form" },
  { id: "ui.policies.reject", method: "POST", path: "/ui/policies/:policy/reject", action: "write", object: "policy", credentials: "session", who: { approver: "all" }, target: { param: "policy", kind: "policy" }, audited: true, page: true, summary: "the policies page's reject form" },
  { id: "ui.audit", method: "GET", path: "/ui/audit", action: "read", object: "audit", credentials: "session", who: { administrator: "all", auditor: "all" }, audited: false, page: true, summary: "the hub's audit log, newest first" },
  { id: "ui.evidence", method: "GET", path: "/ui/evidence", action: "read", object: "fleet", credentials: "session", who: { administrator: "all", auditor: "all" }, audited: false, page: true, summary: "the fleet's evidence: a form for the period's evidence pack of the fleet or a host group (GET /api/evidence/export), and how to verify it" },
  { id: "ui.controls", method: "GET", path: "/ui/controls", action: "read", object: "control", credentials: "session", who: CONTROL_READERS, audited: false, page: true, summary: "the dashboard's list of controls: owner, severity, key flag, refs, hosts kept and deficient; filtered by owner, severity, framework ref; paged" },
  { id: "ui.control", method: "GET", path: "/ui/controls/:control", action: "read", object: "control", credentials: "session", who: CONTROL_READERS, target: { param: "control", kind: "control" }, audited: false, page: true, summary: "the dashboard's page of a control: design, versions and adoptions, the fleet's daily chart, episodes, integrity approvals and changes, waivers" },
  { id: "ui.host", method: "GET", path: "/ui/hosts/:host", action: "read", object: "host", credentials: "session", who: HOST_READERS, target: { param: "host", kind: "host" }, audited: false, page: true, summary: "the dashboard's page of a host: its controls, chain, incidents, clock, policy version, last run, open deficiencies, decisions given on the hub for it" },
  { id: "ui.host.ack", method: "POST", path: "/ui/hosts/:host/acks", action: "write", object: "decision", credentials: "session", who: ACKERS, target: { param: "host", kind: "host" }, audited: true, page: true, summary: "acknowledge one of the host's open deficiencies (the form on the host's page), as POST /api/hosts/:host/acks" },
  { id: "ui.host.approve-change", method: "POST", path: "/ui/hosts/:host/integrity-approvals", action: "write", object: "decision", credentials: "session", who: CHANGE_APPROVERS, target: { param: "host", kind: "host" }, audited: true, page: true, summary: "approve the state an integrity promise of the host was found in (the form on the host's page), as POST /api/hosts/:host/integrity-approvals" },
  { id: "ui.control.waive", method: "POST", path: "/ui/controls/:control/waivers", action: "write", object: "decision", credentials: "session", who: WAIVERS, target: { param: "control", kind: "control" }, audited: true, page: true, summary: "waive a control on a host (the form on the host's page) or a host group (the form on the control's page), as POST /api/controls/:control/waivers" },
  { id: "ui.decisions.withdraw", method: "POST", path: "/ui/decisions/:decision/withdraw", action: "write", object: "decision", credentials: "session", who: WITHDRAWERS, target: { param: "decision", kind: "decision" }, audited: true, page: true, summary: "withdraw a decision no push reply has carried yet (the form on the host's page), as POST /api/decisions/:decision/withdraw" },
];

export const USER_ROUTES: readonly RouteRule[] = [
  { id: "login", method: "POST", path: "/api/login", action: "write", object: "session", credentials: "none", who: {}, audited: true, summary: "log in with a user name and password: a new session (a cookie), any earlier one of this browser ended" },
  { id: "logout", method: "POST", path: "/api/logout", action: "write", object: "session", credentials: "session", who: EVERYONE_SELF, audited: true, summary: "end this session" },
  { id: "me", method: "GET", path: "/api/me", action: "read", object: "user", credentials: "session-or-token", who: EVERYONE_SELF, audited: false, summary: "who is signed in, with their grants, and the session's CSRF token" },
  { id: "users.list", method: "GET", path: "/api/users", action: "read", object: "user", credentials: "session-or-token", who: ADMIN, audited: false, summary: "every user, with grants and whether disabled" },
  { id: "users.create", method: "POST", path: "/api/users", action: "write", object: "user", credentials: "session-or-token", who: ADMIN, audited: true, summary: "make a user (a password of at least 12 characters)" },
  { id: "users.grant", method: "POST", path: "/api/users/:user/grants", action: "write", object: "user", credentials: "session-or-token", who: ADMIN, target: { param: "user", kind: "user" }, audited: true, summary: "grant a user a role (with its scope)" },
  { id: "users.revoke-grant", method: "DELETE", path: "/api/users/:user/grants/:grant", action: "write", object: "user", credentials: "session-or-token", who: ADMIN, target: { param: "grant", kind: "grant" }, audited: true, summary: "take a grant back" },
  { id: "users.disable", method: "POST", path: "/api/users/:user/disable", action: "write", object: "user", credentials: "session-or-token", who: ADMIN, target: { param: "user", kind: "user" }, audited: true, summary: "disable a user: their sessions end and their API tokens stop working" },
  { id: "tokens.list", method: "GET", path: "/api/tokens", action: "read", object: "token", credentials: "session-or-token", who: EVERYONE_SELF, audited: false, summary: "the user's own API tokens (never the tokens themselves)" },
  { id: "tokens.create", method: "POST", path: "/api/tokens", action: "write", object: "token", credentials: "session", who: EVERYONE_SELF, audited: true, summary: "make an API token acting with the user's grants (shown once); from a session only, so that a token cannot outlive itself" },
  { id: "tokens.revoke", method: "DELETE", path: "/api/tokens/:token", action: "write", object: "token", credentials: "session-or-token", who: EVERYONE_SELF, target: { param: "token", kind: "token" }, audited: true, summary: "revoke one of the user's own API tokens" },
  { id: "audit.read", method: "GET", path: "/api/audit", action: "read", object: "audit", credentials: "session-or-token", who: { administrator: "all", auditor: "all" }, audited: false, summary: "the hub's audit log, newest first, a page at a time" },
  { id: "audit.export", method: "GET", path: "/api/audit/export", action: "export", object: "audit", credentials: "session-or-token", who: { administrator: "all", auditor: "all" }, audited: true, summary: "the hub's audit log over a period as CSV (the export itself recorded)" },
  { id: "hosts.list", method: "GET", path: "/api/hosts", action: "read", object: "host", credentials: "session-or-token", who: HOST_READERS, audited: false, summary: "the hosts: group, last push, chain status" },
  { id: "hosts.show", method: "GET", path: "/api/hosts/:host", action: "read", object: "host", credentials: "session-or-token", who: HOST_READERS, target: { param: "host", kind: "host" }, audited: false, summary: "one host: enrolment, chain, clock, incidents, the policy it runs against the version in force, its last run, and each promise's current outcome by control (the controls in reach)" },
  { id: "hosts.revoke", method: "POST", path: "/api/hosts/:host/revoke", action: "write", object: "host", credentials: "session-or-token", who: { administrator: "all", operations: "groups" }, target: { param: "host", kind: "host" }, audited: true, summary: "revoke a host's enrolment: the hub takes nothing more from it" },
  { id: "incidents.list", method: "GET", path: "/api/incidents", action: "read", object: "incident", credentials: "session-or-token", who: { administrator: "all", auditor: "all", operations: "groups" }, audited: false, summary: "chains in doubt and clocks off, open first" },
  { id: "incidents.resolve", method: "POST", path: "/api/incidents/:incident/resolve", action: "write", object: "incident", credentials: "session-or-token", who: ADMIN, target: { param: "incident", kind: "incident" }, audited: true, summary: "mark an incident resolved, saying why" },
  { id: "controls.list", method: "GET", path: "/api/controls", action: "read", object: "control", credentials: "session-or-token", who: CONTROL_READERS, audited: false, summary: "the controls the hub knows (the catalogue, the hosts' reports, owners set), with their design and how many hosts keep them and are deficient now; filtered by owner, severity, framework ref" },
  { id: "controls.show", method: "GET", path: "/api/controls/:control", action: "read", object: "control", credentials: "session-or-token", who: CONTROL_READERS, target: { param: "control", kind: "control" }, audited: false, summary: "one control: its design, versions and adoptions, each host's current outcome, the fleet's daily chart and episodes over a period, integrity approvals and changes, waivers" },
  { id: "policies.list", method: "GET", path: "/api/policies", action: "read", object: "policy", credentials: "session-or-token", who: POLICY_READERS, audited: false, summary: "the policy versions published, newest first: author, message, decision, which is in force" },
  { id: "policies.publish", method: "POST", path: "/api/policies", action: "write", object: "policy", credentials: "session-or-token", who: { author: "all" }, maxBody: 24 * 1024 * 1024, audited: true, summary: "publish a policy version (its files and a message): checked as `covenant check` would, refused with every error, else held for approval (or in force at once when the hub requires none)" },
  { id: "policies.approve", method: "POST", path: "/api/policies/:policy/approve", action: "write", object: "policy", credentials: "session-or-token", who: { approver: "all" }, target: { param: "policy", kind: "policy" }, audited: true, summary: "approve a pending version (never one's own): signed with the hub's key, in force for its host group" },
  { id: "policies.reject", method: "POST", path: "/api/policies/:policy/reject", action: "write", object: "policy", credentials: "session-or-token", who: { approver: "all" }, target: { param: "policy", kind: "policy" }, audited: true, summary: "reject a pending version, saying why (never one's own)" },
  { id: "fleet.overview", method: "GET", path: "/api/overview", action: "read", object: "fleet", credentials: "session-or-token", who: HOST_READERS, audited: false, summary: "the fleet overview's figures (the page /ui shows them): verdicts per control and per host group, open deficiencies with who was told, hosts not reporting, chains in doubt; filters owner, severity, ref, group" },
  { id: "controls.set-owner", method: "PUT", path: "/api/controls/:control/owner", action: "write", object: "control", credentials: "session-or-token", who: ADMIN, target: { param: "control", kind: "control" }, audited: true, summary: "say which owner a control has (what grants naming an owner reach)" },
  { id: "hosts.deficiencies", method: "GET", path: "/api/hosts/:host/deficiencies", action: "read", object: "host", credentials: "session-or-token", who: HOST_READERS, target: { param: "host", kind: "host" }, audited: false, summary: "one host's deficiencies as its records say, with the ids the host gives them (open ones; ?all=1 every one), of the controls the user reaches" },
  { id: "decisions.list", method: "GET", path: "/api/decisions", action: "read", object: "decision", credentials: "session-or-token", who: DECISION_READERS, audited: false, summary: "decisions given on the hub (acknowledgements, integrity approvals, waivers), newest first, with their state: pending, delivered, applied or refused by the host (?host=, ?state=)" },
  { id: "decisions.ack", method: "POST", path: "/api/hosts/:host/acks", action: "write", object: "decision", credentials: "session-or-token", who: ACKERS, target: { param: "host", kind: "host" }, audited: true, summary: "acknowledge one of the host's open deficiencies (a control owner: of their controls), saying why: it reaches the host with its next push reply" },
  { id: "decisions.waive", method: "POST", path: "/api/controls/:control/waivers", action: "write", object: "decision", credentials: "session-or-token", who: WAIVERS, target: { param: "control", kind: "control" }, audited: true, summary: "waive a control on one host or every host of a group, from a date until a date, saying why (a risk acceptance: never by whoever runs those hosts)" },
  { id: "decisions.approve-change", method: "POST", path: "/api/hosts/:host/integrity-approvals", action: "write", object: "decision", credentials: "session-or-token", who: CHANGE_APPROVERS, target: { param: "host", kind: "host" }, audited: true, summary: "approve the state an integrity promise of the host was found in (its promise key and the change record that reported it; a control owner: of their controls), saying why: the host re-baselines it only while it still observes that state" },
  { id: "decisions.withdraw", method: "POST", path: "/api/decisions/:decision/withdraw", action: "write", object: "decision", credentials: "session-or-token", who: WITHDRAWERS, target: { param: "decision", kind: "decision" }, audited: true, summary: "withdraw a decision no push reply has carried yet (one's own; an administrator: any)" },
  // not operations, even for their own groups: the evidence of how hosts were run goes to auditors
  // from someone other than those who run them (separation of duties); operations read their hosts
  { id: "evidence.export", method: "GET", path: "/api/evidence/export", action: "export", object: "fleet", credentials: "session-or-token", who: { administrator: "all", auditor: "all" }, audited: true, summary: "the fleet's evidence pack over a period (from, to; group, tz, control optional) as .tar.gz, signed with the hub's key (the export itself recorded)" },
  ...PAGE_ROUTES,
];

export interface HostRouteRule {
  method: "GET" | "POST";
  path: string;
  summary: string;
}

/** Routes hosts use: authenticated by the host's Ed25519 signature over the body, not by people (docs/hub.md). */
export const HOST_ROUTES: readonly HostRouteRule[] = [
  { method: "GET", path: "/v1/health", summary: "whether the hub and its database answer (no credentials, says nothing of any host)" },
  { method: "POST", path: "/v1/enroll", summary: "a host registers its public key with a one-time enrolment token" },
  { method: "POST", path: "/v1/push", summary: "a host sends its records, signed with its key" },
  { method: "POST", path: "/v1/policy", summary: "a host fetches the policy version in force for it (a request signed with its key; the answer signed with the hub's)" },
];

/** The reach each role may be given: a role's scope decides what its reach can be limited by. */
const REACH_OF_ROLE: Record<Role, readonly Reach[]> = {
  administrator: ["all", "self"],
  author: ["all", "self"],
  approver: ["all", "self"],
  auditor: ["all", "self"],
  operations: ["all", "groups", "self"],
  owner: ["all", "controls", "controls-data", "self"],
};

/** What is wrong with the declarations (empty when nothing): checked when the server starts and by the tests. */
export function ruleProblems(rules: readonly RouteRule[] = USER_ROUTES): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const r of rules) {
    const key = `${r.method} ${r.path}`;
    if (seen.has(key) || seen.has(r.id)) problems.push(`${key} (${r.id}) is declared twice`);
    seen.add(key).add(r.id);
    if (!r.page && !r.path.startsWith("/api/")) problems.push(`${key}: people's routes are under /api/`);
    if (r.page && r.path !== "/" && r.path !== "/ui" && !r.path.startsWith("/ui/")) problems.push(`${key}: pages are under /ui/`);
    if (r.page && r.credentials === "session-or-token") problems.push(`${key}: a page takes a browser session, not an API token`);
    if (r.credentials === "none" && Object.keys(r.who).length > 0) problems.push(`${key}: a route without credentials cannot name roles`);
    if (r.credentials !== "none" && Object.keys(r.who).length === 0) problems.push(`${key}: no role may use it`);
    if (r.method === "GET" && r.action === "write") problems.push(`${key}: a GET must not write`);
    if (r.method !== "GET" && r.action !== "write") problems.push(`${key}: a ${r.method} is a write`);
    if ((r.action !== "read" || r.method !== "GET") && !r.audited) problems.push(`${key}: what changes something or exports is written to the audit log`);
    if (r.target && !r.path.includes(`:${r.target.param}`)) problems.push(`${key}: the target :${r.target.param} is not in the path`);
    for (const [role, reach] of Object.entries(r.who) as [Role, Reach][]) {
      if (!ROLES.includes(role)) problems.push(`${key}: unknown role ${role}`);
      else if (!REACH_OF_ROLE[role].includes(reach)) problems.push(`${key}: ${role} cannot be given reach ${reach}`);
    }
  }
  return problems;
}

export function findRule(method: string, path: string): RouteRule | undefined {
  return USER_ROUTES.find((r) => r.method === method && r.path === path);
}

export function isHostRoute(method: string, path: string): boolean {
  return HOST_ROUTES.some((r) => r.method === method && r.path === path);
}
