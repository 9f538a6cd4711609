// covenant.yaml as the rest of Covenant sees it once it has been parsed and validated
// (src/config/load.ts): durations in milliseconds, names resolved, secrets not yet read (a
// secret is a reference, read by readSecret only when a channel is about to be used, so that a
// run with nothing to tell never opens one). The file's own shape is docs/covenant.schema.json.
import type { Severity } from "../checker/policy.js";

/** Where a secret comes from: an environment variable or a file (judged like a policy file as root). */
export type SecretRef = { env: string } | { file: string };

export interface Person {
  name: string;
  email?: string;
  /** E.164, such as +15551234567 */
  phone?: string;
}

/** "HH:MM" to "HH:MM" in the stakeholder's time zone; `to` before `from` spans midnight. */
export interface QuietHours {
  from: string;
  to: string;
}

export interface Stakeholder {
  name: string;
  people: Person[];
  /** the channels (names under `channels:`) this stakeholder is told through, in order of preference */
  channels: string[];
  /** IANA time zone, for quiet hours and report periods; the host's when absent */
  timezone?: string;
  quietHours?: QuietHours;
  /** where its name is written in the file, for diagnostics (W300) */
  at?: ConfigPosition;
}

/** A place in covenant.yaml: 1-based line and column, and the offsets of the range. */
export interface ConfigPosition {
  line: number;
  column: number;
  offset: number;
  end: number;
}

export interface EmailChannel {
  type: "email";
  name: string;
  host: string;
  port: number;
  /** implicit TLS (smtps), STARTTLS required, or neither (allowed only when host is loopback) */
  tls: "implicit" | "starttls" | "none";
  /** a PEM file of CA certificates to trust besides the system's */
  caFile?: string;
  auth?: { user: string; password: SecretRef };
  from: string;
  /** per message, ms */
  timeoutMs: number;
}

export interface SmsChannel {
  type: "twilio";
  name: string;
  accountSid: string;
  authToken: SecretRef;
  /** an E.164 sender, or a messaging service SID (MG...) */
  from?: string;
  messagingServiceSid?: string;
  /** Twilio's API base (https://api.twilio.com by default); another for a proxy or a test server */
  apiUrl?: string;
  timeoutMs: number;
}

export interface ReportChannel {
  type: "report";
  name: string;
  directory: string;
  period: "day" | "week" | "month";
  formats: ("markdown" | "json")[];
}

export interface WebhookChannel {
  type: "webhook";
  name: string;
  url: string;
  /** the HMAC-SHA256 key for the X-Covenant-Signature header */
  secret?: SecretRef;
  timeoutMs: number;
  headers: Record<string, string>;
}

export interface AlertmanagerChannel {
  type: "alertmanager";
  name: string;
  /** base URL, such as http://127.0.0.1:9093 */
  url: string;
  /** HTTP basic authentication, for an Alertmanager behind a proxy or with a web config that asks for it */
  auth?: { user: string; password: SecretRef };
  timeoutMs: number;
}

export type ChannelConfig = EmailChannel | SmsChannel | ReportChannel | WebhookChannel | AlertmanagerChannel;
export type ChannelType = ChannelConfig["type"];

/** What a route matches on; every key given must match (a list matches any of its values; strings may be globs). */
export interface RouteMatch {
  control?: string[];
  severity?: Severity[];
  owner?: string[];
  key_control?: boolean;
  type?: string[];
  outcome?: string[];
  stakeholder?: string[];
  /** host facts (os.id, host.name, ...) to values */
  facts?: Record<string, string[]>;
  /** every tag listed must be among the host's tags (`host.tags`) */
  tags?: string[];
}

export interface Escalation {
  /** after this long open (or unacknowledged, with `unacknowledged`), also tell these */
  afterMs: number;
  to: string[];
  /** escalate only while nobody has acknowledged the deficiency (true by default) */
  unacknowledged: boolean;
}

/** Timing and grouping, inherited down the tree where a route does not set them. */
export interface Timing {
  groupBy: string[];
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
  sendResolved: boolean;
}

export interface Route extends Timing {
  /** a stable name for messages and the outbox: "root", "root.0", "root.0.1" (position in the tree) */
  id: string;
  match: RouteMatch;
  /** stakeholder names, or "owners" (the promise's `->` stakeholders and the control's owner) */
  receivers: string[];
  continue: boolean;
  escalate: Escalation[];
  routes: Route[];
  /** where it was written, for messages */
  line: number;
}

export interface NotifyConfig {
  /** the file it was read from, absolute */
  path: string;
  host: { tags: string[] };
  stakeholders: Map<string, Stakeholder>;
  channels: Map<string, ChannelConfig>;
  route: Route;
  /** a deficiency silences the ones of promises that `depends_on` it (true by default) */
  inhibitDependents: boolean;
  delivery: {
    /** how long a run spends delivering after evaluation before leaving the rest to the next */
    budgetMs: number;
    maxAttempts: number;
    backoffMs: number;
    maxBackoffMs: number;
    /** a channel failing this many deliveries in a row is itself a deficiency */
    failingAfter: number;
  };
  /** `covenant report`: the cadence every control is held to (absent: each control's `every`, else learned) */
  report?: { expectedEveryMs: number };
}
