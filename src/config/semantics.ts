// What the schema cannot say: names that must exist (a stakeholder's channels, a route's
// receivers, an escalation's targets), time zones, plain SMTP only to loopback, a twilio sender
// given one way, secrets given one way, URLs. They run whatever the schema said, on the parts
// that have the right type, so that one pass reports everything.
import type { Document } from "yaml";
import type { DiagnosticCode } from "../parser/diagnostics.js";
import { closest } from "../parser/suggest.js";
import type { ConfigDiagnostic, ConfigSource } from "./diagnostic.js";
import { parseDuration } from "./durations.js";
import { keyRange, valueRange } from "./positions.js";

type Obj = Record<string, unknown>;
type Report = (code: DiagnosticCode, message: string, range: readonly [number, number], suggestion?: string) => void;

export const OWNERS = "owners";
const LOOPBACK = new Set(["localhost", "127.0.0.1", "::1", "[::1]"]);

export const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

function isLoopback(host: string): boolean {
  return LOOPBACK.has(host.toLowerCase()) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

let zones: string[] | undefined;
function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A secret's keys: `password` → password_file / password_env. */
function secretKeys(base: string): [string, string] {
  return [`${base}_file`, `${base}_env`];
}

export function checkSemantics(value: Obj, doc: Document, src: ConfigSource): ConfigDiagnostic[] {
  const out: ConfigDiagnostic[] = [];
  const report: Report = (code, message, range, suggestion) => out.push(src.diagnostic(code, message, range, suggestion !== undefined ? { suggestion } : {}));
  const channels = isObj(value["channels"]) ? value["channels"] : {};
  const stakeholders = isObj(value["stakeholders"]) ? value["stakeholders"] : {};
  for (const [name, s] of Object.entries(stakeholders)) checkStakeholder(name, s, Object.keys(channels), doc, report);
  for (const [name, c] of Object.entries(channels)) if (isObj(c)) checkChannel(name, c, doc, report);
  if (isObj(value["route"])) checkRoute(value["route"], ["route"], Object.keys(stakeholders), doc, report);
  checkDurations(value, [], doc, report);
  return out;
}

function checkStakeholder(name: string, s: unknown, channelNames: string[], doc: Document, report: Report): void {
  const at = ["stakeholders", name];
  if (name === OWNERS) report("E328", `\`${OWNERS}\` cannot name a stakeholder: in routes it stands for the promise's \`->\` stakeholders and the control's owner`, keyRange(doc, at), "choose another name");
  if (!isObj(s)) return;
  const zone = s["timezone"];
  if (typeof zone === "string" && !validTimeZone(zone)) {
    zones ??= Intl.supportedValuesOf("timeZone");
    const near = closest(zone, zones);
    report("E310", `\`${zone}\` is not a time zone this system knows (IANA names, such as Europe/Paris or America/New_York)`, valueRange(doc, [...at, "timezone"]), near !== undefined ? `did you mean \`${near}\`?` : undefined);
  }
  strings(s["channels"]).forEach((c, i) => {
    if (channelNames.includes(c)) return;
    const near = closest(c, channelNames);
    const defined = channelNames.length > 0 ? `defined: ${channelNames.join(", ")}` : "none is defined";
    report("E312", `stakeholder \`${name}\` is told through channel \`${c}\`, which is not defined under \`channels:\` (${defined})`, valueRange(doc, [...at, "channels", String(i)]), near !== undefined ? `did you mean \`${near}\`?` : `define \`${c}\` under \`channels:\``);
  });
}

function checkChannel(name: string, c: Obj, doc: Document, report: Report): void {
  const at = ["channels", name];
  const type = c["type"];
  if (type === "email") {
    if (c["tls"] === "none" && typeof c["host"] === "string" && !isLoopback(c["host"])) {
      report("E315", `channel \`${name}\` sends mail without TLS to \`${c["host"]}\`: passwords and deficiencies would cross the network in clear; \`tls: none\` is for a relay on this host only (localhost, 127.0.0.1, ::1)`, valueRange(doc, [...at, "tls"]), "use `tls: starttls` (port 587) or `tls: implicit` (port 465)");
    }
    if (isObj(c["auth"])) checkSecret(c["auth"], "password", [...at, "auth"], true, doc, report);
    if (c["tls"] === "none" && typeof c["host"] === "string" && isLoopback(c["host"]) && typeof c["port"] === "number" && c["port"] >= FIRST_UNPRIVILEGED_PORT) {
      report("W302", unprivilegedWords(name, `${c["host"]}:${c["port"]}`, "every message and, with `auth`, the password"), valueRange(doc, [...at, "port"]), "run the relay on a port below 1024 (25, 587), or use `tls: starttls` with the relay's certificate in `ca_file`");
    }
  } else if (type === "twilio") {
    const hasFrom = c["from"] !== undefined;
    const hasService = c["messaging_service_sid"] !== undefined;
    if (hasFrom === hasService) {
      const both = hasFrom && hasService;
      report("E316", `channel \`${name}\` ${both ? "gives both `from` and `messaging_service_sid`" : "gives neither `from` nor `messaging_service_sid`"}: Twilio sends from one number or one messaging service`, both ? keyRange(doc, [...at, "messaging_service_sid"]) : keyRange(doc, at), both ? "keep one of them" : "add `from: \"+15550000000\"` (a number of the account) or `messaging_service_sid: MG...`");
    }
    checkSecret(c, "auth_token", at, true, doc, report);
    if (typeof c["api_url"] === "string") checkUrl(c["api_url"], [...at, "api_url"], doc, report, undefined, name);
  } else if (type === "webhook") {
    checkSecret(c, "secret", at, false, doc, report);
    if (typeof c["url"] === "string") checkUrl(c["url"], [...at, "url"], doc, report, undefined, name);
  } else if (type === "alertmanager") {
    if (isObj(c["auth"])) checkSecret(c["auth"], "password", [...at, "auth"], true, doc, report);
    if (typeof c["url"] === "string") checkUrl(c["url"], [...at, "url"], doc, report, "remove them from the URL and give them as `auth: { user: ..., password_file: ... }`", name);
  }
}

/** `base_file` or `base_env`: exactly one, or none when the secret is optional. */
function checkSecret(o: Obj, base: string, at: string[], required: boolean, doc: Document, report: Report): void {
  const [file, env] = secretKeys(base);
  const given = [file, env].filter((k) => o[k] !== undefined);
  // a literal `password:` is reported as such (E318): asking for password_file on top says it twice
  if (given.length === 0 && o[base] !== undefined) return;
  if (given.length === 2) report("E319", `${where(at)} gives the ${base.replace("_", " ")} both as a file and as a variable: say which`, keyRange(doc, [...at, env]), `keep \`${file}\` or \`${env}\``);
  else if (given.length === 0 && required) report("E319", `${where(at)} lacks the ${base.replace("_", " ")}: give \`${file}\` (a file only root can read) or \`${env}\` (an environment variable)`, keyRange(doc, at), `add \`${file}: /etc/covenant/${base.replace("_", "-")}\``);
}

/** Ports from here up can be bound by any user: while the real receiver is down, one of them could stand in for it. */
const FIRST_UNPRIVILEGED_PORT = 1024;

function unprivilegedWords(channel: string, where: string, exposed: string): string {
  return `channel \`${channel}\` talks to ${where} without TLS, on a port of this host that any local user may listen on while the receiver is down: they would read ${exposed}, and Covenant would record it as delivered`;
}

function checkUrl(url: string, at: string[], doc: Document, report: Report, credentialsFix = "remove them from the URL (a webhook signs with `secret_file` or `secret_env`)", channel?: string): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed && (parsed.protocol === "http:" || parsed.protocol === "https:") && parsed.hostname !== "") {
    if (parsed.username === "" && parsed.password === "") {
      const port = Number(parsed.port || 80);
      if (channel !== undefined && parsed.protocol === "http:" && isLoopback(parsed.hostname) && port >= FIRST_UNPRIVILEGED_PORT) {
        report("W302", unprivilegedWords(channel, parsed.host, "every message (and any credentials sent with it)"), valueRange(doc, at), "put the receiver behind https, or on a port below 1024");
      }
      return;
    }
    report("E318", `${where(at)} holds credentials in its URL: they would be a secret written in the file`, valueRange(doc, at), credentialsFix);
    return;
  }
  report("E317", `${where(at)} is not an http:// or https:// URL`, valueRange(doc, at), "such as https://siem.example.com/covenant or http://127.0.0.1:9093");
}

function checkRoute(route: Obj, at: string[], stakeholders: string[], doc: Document, report: Report): void {
  const known = [OWNERS, ...stakeholders];
  strings(route["receivers"]).forEach((r, i) => {
    if (known.includes(r)) return;
    const near = closest(r, known);
    report("E313", `receiver \`${r}\` is not a stakeholder of this configuration (nor \`${OWNERS}\`)`, valueRange(doc, [...at, "receivers", String(i)]), near !== undefined ? `did you mean \`${near}\`?` : `define \`${r}\` under \`stakeholders:\``);
  });
  const escalate = Array.isArray(route["escalate"]) ? route["escalate"] : [];
  escalate.forEach((e, i) => {
    if (!isObj(e)) return;
    strings(e["to"]).forEach((t, j) => {
      if (stakeholders.includes(t)) return;
      const near = closest(t, stakeholders);
      report("E314", `escalation target \`${t}\` is not a stakeholder of this configuration`, valueRange(doc, [...at, "escalate", String(i), "to", String(j)]), near !== undefined ? `did you mean \`${near}\`?` : `define \`${t}\` under \`stakeholders:\``);
    });
  });
  const groupBy = strings(route["group_by"]);
  if (groupBy.includes("...") && groupBy.length > 1) report("E330", `\`group_by: ["..."]\` puts every deficiency in a group of its own; it cannot be combined with other labels`, valueRange(doc, [...at, "group_by"]), 'write `group_by: ["..."]` alone, or the labels without `...`');
  const routes = Array.isArray(route["routes"]) ? route["routes"] : [];
  routes.forEach((r, i) => {
    if (isObj(r)) checkRoute(r, [...at, "routes", String(i)], stakeholders, doc, report);
  });
}

/** Keys whose duration must be more than zero: a zero interval would tell the same thing at every run. */
const POSITIVE = new Set(["group_interval", "repeat_interval", "backoff", "max_backoff", "timeout"]);
const DURATION_KEYS = new Set(["group_wait", "group_interval", "repeat_interval", "budget", "backoff", "max_backoff", "timeout", "after"]);

/** Every duration in the file: one too long for the schema's pattern to judge, or zero where that cannot work. */
function checkDurations(v: unknown, at: string[], doc: Document, report: Report): void {
  if (Array.isArray(v)) v.forEach((x, i) => checkDurations(x, [...at, String(i)], doc, report));
  if (!isObj(v)) return;
  for (const [k, x] of Object.entries(v)) {
    const here = [...at, k];
    // durations are the values of these keys, except under a mapping of user names (headers, facts)
    const userNamed = at.at(-1) === "headers" || at.at(-1) === "facts";
    if (DURATION_KEYS.has(k) && !userNamed && typeof x === "string" && /^(?=\d)(\d+d)?(\d+h)?(\d+m)?(\d+s)?$/.test(x)) {
      const ms = parseDuration(x);
      if (ms === undefined) report("E321", `${where(here)} is longer than ten years`, valueRange(doc, here));
      else if (ms === 0 && POSITIVE.has(k)) report("E331", `${where(here)} must be more than zero`, valueRange(doc, here));
    } else if (typeof x === "object") checkDurations(x, here, doc, report);
  }
}

function where(keys: readonly string[]): string {
  return `\`${keys.map((k) => (/^\d+$/.test(k) ? `[${k}]` : k)).join(".").replace(/\.\[/g, "[")}\``;
}
