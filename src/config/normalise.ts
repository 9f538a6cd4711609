// A covenant.yaml that passed the schema and the semantic checks, as the rest of Covenant sees
// it (src/config/types.ts): defaults filled in, durations in ms, secrets as references, the
// route tree with inherited settings resolved and each route named by its place in the tree.
import type { Document } from "yaml";
import type { Severity } from "../checker/policy.js";
import type { ConfigSource } from "./diagnostic.js";
import { parseDuration } from "./durations.js";
import { keyRange, valueRange } from "./positions.js";
import type { ChannelConfig, Escalation, NotifyConfig, Person, Route, RouteMatch, SecretRef, Stakeholder, Timing } from "./types.js";

type Obj = Record<string, unknown>;

const DEFAULTS = {
  groupBy: ["control"],
  groupWait: "0s",
  groupInterval: "5m",
  repeatInterval: "4h",
  sendResolved: true,
  budget: "10s",
  maxAttempts: 10,
  backoff: "30s",
  maxBackoff: "1h",
  failingAfter: 3,
  emailTimeout: "10s",
  twilioTimeout: "10s",
  httpTimeout: "5s",
} as const;

const ms = (v: unknown, fallback: string): number => parseDuration(typeof v === "string" ? v : fallback)!;
const obj = (v: unknown): Obj => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

function secretRef(o: Obj, base: string): SecretRef | undefined {
  const file = o[`${base}_file`];
  const env = o[`${base}_env`];
  if (typeof file === "string") return { file };
  if (typeof env === "string") return { env };
  return undefined;
}

/** `value` has passed every check: this only shapes it. `path` is absolute. */
export function normalise(value: Obj, path: string, doc: Document, src: ConfigSource): NotifyConfig {
  const stakeholders = new Map<string, Stakeholder>();
  for (const [name, raw] of Object.entries(obj(value["stakeholders"]))) stakeholders.set(name, stakeholder(name, obj(raw), doc, src));
  const channels = new Map<string, ChannelConfig>();
  for (const [name, raw] of Object.entries(obj(value["channels"]))) channels.set(name, channel(name, obj(raw)));
  const rootTiming: Timing = {
    groupBy: [...DEFAULTS.groupBy],
    groupWaitMs: ms(undefined, DEFAULTS.groupWait),
    groupIntervalMs: ms(undefined, DEFAULTS.groupInterval),
    repeatIntervalMs: ms(undefined, DEFAULTS.repeatInterval),
    sendResolved: DEFAULTS.sendResolved,
  };
  const rootParent = { ...rootTiming, receivers: ["owners"], escalate: [] as Escalation[] };
  const delivery = obj(value["delivery"]);
  const report = obj(value["report"]);
  return {
    path,
    host: { tags: list(obj(value["host"])["tags"]) },
    stakeholders,
    channels,
    route: route(obj(value["route"]), "root", ["route"], rootParent, doc, src),
    inhibitDependents: obj(value["inhibit"])["depends_on"] !== false,
    delivery: {
      budgetMs: ms(delivery["budget"], DEFAULTS.budget),
      maxAttempts: typeof delivery["max_attempts"] === "number" ? delivery["max_attempts"] : DEFAULTS.maxAttempts,
      backoffMs: ms(delivery["backoff"], DEFAULTS.backoff),
      maxBackoffMs: ms(delivery["max_backoff"], DEFAULTS.maxBackoff),
      failingAfter: typeof delivery["failing_after"] === "number" ? delivery["failing_after"] : DEFAULTS.failingAfter,
    },
    ...(typeof report["expected_every"] === "string" ? { report: { expectedEveryMs: ms(report["expected_every"], "0s") } } : {}),
  };
}

function stakeholder(name: string, s: Obj, doc: Document, src: ConfigSource): Stakeholder {
  const people: Person[] = (Array.isArray(s["people"]) ? s["people"] : []).map((p: unknown) => {
    const o = obj(p);
    const person: Person = { name: String(o["name"]) };
    if (typeof o["email"] === "string") person.email = o["email"];
    if (typeof o["phone"] === "string") person.phone = o["phone"];
    return person;
  });
  const range = keyRange(doc, ["stakeholders", name]);
  const { line, column } = src.position(range[0]);
  const out: Stakeholder = { name, people, channels: list(s["channels"]), at: { line, column, offset: range[0], end: range[1] } };
  if (typeof s["timezone"] === "string") out.timezone = s["timezone"];
  const quiet = obj(s["quiet_hours"]);
  if (typeof quiet["from"] === "string" && typeof quiet["to"] === "string") out.quietHours = { from: quiet["from"], to: quiet["to"] };
  return out;
}

const DEFAULT_PORT = { implicit: 465, starttls: 587, none: 25 } as const;

function channel(name: string, c: Obj): ChannelConfig {
  switch (c["type"]) {
    case "email": {
      const tls = (c["tls"] ?? "starttls") as "implicit" | "starttls" | "none";
      const out: ChannelConfig = { type: "email", name, host: String(c["host"]), port: typeof c["port"] === "number" ? c["port"] : DEFAULT_PORT[tls], tls, from: String(c["from"]), timeoutMs: ms(c["timeout"], DEFAULTS.emailTimeout) };
      if (typeof c["ca_file"] === "string") out.caFile = c["ca_file"];
      const auth = userAndPassword(c);
      if (auth) out.auth = auth;
      return out;
    }
    case "twilio": {
      const out: ChannelConfig = { type: "twilio", name, accountSid: String(c["account_sid"]), authToken: secretRef(c, "auth_token")!, timeoutMs: ms(c["timeout"], DEFAULTS.twilioTimeout) };
      if (typeof c["from"] === "string") out.from = c["from"];
      if (typeof c["messaging_service_sid"] === "string") out.messagingServiceSid = c["messaging_service_sid"];
      if (typeof c["api_url"] === "string") out.apiUrl = c["api_url"];
      return out;
    }
    case "report":
      return { type: "report", name, directory: String(c["directory"]), period: (c["period"] ?? "day") as "day" | "week" | "month", formats: (Array.isArray(c["formats"]) ? c["formats"] : ["markdown", "json"]) as ("markdown" | "json")[] };
    case "webhook": {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(obj(c["headers"]))) headers[k] = String(v);
      const out: ChannelConfig = { type: "webhook", name, url: String(c["url"]), timeoutMs: ms(c["timeout"], DEFAULTS.httpTimeout), headers };
      const secret = secretRef(c, "secret");
      if (secret) out.secret = secret;
      return out;
    }
    default: {
      const out: ChannelConfig = { type: "alertmanager", name, url: String(c["url"]), timeoutMs: ms(c["timeout"], DEFAULTS.httpTimeout) };
      const auth = userAndPassword(c);
      if (auth) out.auth = auth;
      return out;
    }
  }
}

/** A channel's `auth: { user, password_file | password_env }` (email's SMTP login, Alertmanager's HTTP basic). */
function userAndPassword(c: Obj): { user: string; password: SecretRef } | undefined {
  const auth = obj(c["auth"]);
  const password = secretRef(auth, "password");
  return typeof auth["user"] === "string" && password ? { user: auth["user"], password } : undefined;
}

type Inherited = Timing & { receivers: string[]; escalate: Escalation[] };

/** A route with what it does not set taken from its parent (receivers, timing, escalation); match and continue are its own. */
function route(r: Obj, id: string, at: string[], parent: Inherited, doc: Document, src: ConfigSource): Route {
  const own: Inherited = {
    receivers: Array.isArray(r["receivers"]) ? list(r["receivers"]) : parent.receivers,
    groupBy: Array.isArray(r["group_by"]) ? list(r["group_by"]) : parent.groupBy,
    groupWaitMs: typeof r["group_wait"] === "string" ? ms(r["group_wait"], "") : parent.groupWaitMs,
    groupIntervalMs: typeof r["group_interval"] === "string" ? ms(r["group_interval"], "") : parent.groupIntervalMs,
    repeatIntervalMs: typeof r["repeat_interval"] === "string" ? ms(r["repeat_interval"], "") : parent.repeatIntervalMs,
    sendResolved: typeof r["send_resolved"] === "boolean" ? r["send_resolved"] : parent.sendResolved,
    escalate: Array.isArray(r["escalate"]) ? r["escalate"].map((e: unknown) => escalation(obj(e))) : parent.escalate,
  };
  const children = Array.isArray(r["routes"]) ? r["routes"] : [];
  const line = src.position(valueRange(doc, at)[0]).line;
  return {
    id,
    match: match(obj(r["match"])),
    ...own,
    continue: r["continue"] === true,
    routes: children.map((c: unknown, i: number) => route(obj(c), `${id}.${i}`, [...at, "routes", String(i)], own, doc, src)),
    line,
  };
}

function escalation(e: Obj): Escalation {
  return { afterMs: ms(e["after"], ""), to: list(e["to"]), unacknowledged: e["unacknowledged"] !== false };
}

function match(m: Obj): RouteMatch {
  const out: RouteMatch = {};
  for (const k of ["control", "owner", "type", "outcome", "stakeholder", "tags"] as const) if (Array.isArray(m[k])) out[k] = list(m[k]);
  if (Array.isArray(m["severity"])) out.severity = list(m["severity"]) as Severity[];
  if (typeof m["key_control"] === "boolean") out.key_control = m["key_control"];
  if (typeof m["facts"] === "object" && m["facts"] !== null) {
    out.facts = {};
    for (const [k, v] of Object.entries(obj(m["facts"]))) out.facts[k] = list(v);
  }
  return out;
}
