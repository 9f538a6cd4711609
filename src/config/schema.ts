// covenant.yaml against its JSON Schema (docs/covenant.schema.json, shipped for editors too):
// ajv reports every error at once; each is turned into a diagnostic at the key or value it is
// about, in words, with the closest known key or value when one was misspelt.
import type { ErrorObject } from "ajv";
import type { Document } from "yaml";
import schema from "../../docs/covenant.schema.json" with { type: "json" };
import type { DiagnosticCode } from "../parser/diagnostics.js";
import { closest } from "../parser/suggest.js";
import type { ConfigDiagnostic, ConfigSource } from "./diagnostic.js";
import { keyRange, locate, pointerKeys, rangeOf, valueRange } from "./positions.js";
import { configValidator } from "./validator.js";

export { schema as configSchema };

/** The keys a secret may be written under, and what to write instead. */
export const LITERAL_SECRETS: Record<string, string> = { password: "password", auth_token: "auth_token", secret: "secret" };

/** Each pattern of the schema's definitions, with the code of a value that does not match it. */
const PATTERN_CODES: [string, DiagnosticCode, string][] = [
  [schema.definitions.duration.pattern, "E307", "a duration, such as 30s, 5m, 4h, 2d or 1h30m"],
  [schema.definitions.phone.pattern, "E308", "a phone number in E.164 form: + and the country code, such as +15551230001"],
  [schema.definitions.email.pattern, "E309", "an email address, such as alice@example.com"],
  [schema.definitions.mailbox.pattern, "E309", "an address, or a name and an address: Covenant <covenant@example.com>"],
  [schema.definitions.clock.pattern, "E311", "a time of day, HH:MM on 24 hours, such as 07:30"],
  [schema.definitions.name.pattern, "E326", "a name of letters, digits, _ and -, starting with a letter or _"],
  [schema.definitions.path.pattern, "E327", "an absolute path, starting with /"],
];

type Range = readonly [number, number];

const jsonType = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "a list" : typeof v === "object" ? "a mapping" : typeof v === "string" ? "a string" : typeof v === "number" ? (Number.isInteger(v) ? "an integer" : "a number") : `a ${typeof v}`);
const wanted: Record<string, string> = { object: "a mapping (key: value)", array: "a list", string: "a string", integer: "a whole number", number: "a number", boolean: "true or false" };

/** The key a value sits under: "channels.mail.port" for messages. */
function where(keys: readonly string[]): string {
  return keys.length === 0 ? "the file" : `\`${keys.map((k) => (/^\d+$/.test(k) ? `[${k}]` : k)).join(".").replace(/\.\[/g, "[")}\``;
}

export function validateSchema(value: unknown, doc: Document, src: ConfigSource): ConfigDiagnostic[] {
  const validate = configValidator();
  if (validate(value)) return [];
  const out: ConfigDiagnostic[] = [];
  for (const e of validate.errors ?? []) {
    const d = describe(e, doc, src);
    if (d) out.push(d);
  }
  return out;
}

function describe(e: ErrorObject, doc: Document, src: ConfigSource): ConfigDiagnostic | undefined {
  const keys = pointerKeys(e.instancePath);
  const at = (code: DiagnosticCode, message: string, range: Range, suggestion?: string, text?: string) => src.diagnostic(code, message, range, { ...(suggestion !== undefined ? { suggestion } : {}), ...(text !== undefined ? { text } : {}) });
  const propertyName = (e as ErrorObject & { propertyName?: string }).propertyName;
  if (propertyName !== undefined) {
    // a key that is not a valid name (under stakeholders:, channels:, headers:)
    const range = keyRange(doc, [...keys, propertyName]);
    return at(e.keyword === "pattern" ? (patternCode(e) ?? "E329") : "E329", `\`${propertyName}\` under ${where(keys)} is not a valid name: ${patternWords(e) ?? "letters, digits, _ and -"}`, range);
  }
  switch (e.keyword) {
    case "propertyNames":
    case "discriminator": // said by the `required`, `type` or `enum` error on `type` itself
    case "oneOf":
    case "if":
      return undefined;
    case "additionalProperties":
      return unknownKey(e, keys, doc, src);
    case "required": {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      const located = locate(doc, keys);
      const range = rangeOf(located.key) ?? valueRange(doc, keys);
      return at("E303", `${where(keys)} lacks \`${missing}\`, which it needs`, range, `add \`${missing}:\``);
    }
    case "type": {
      const want = String((e.params as { type: string }).type);
      const range = valueRange(doc, keys);
      // `phone: +15551230001` and `port: 587` read as numbers: a string wanted is a string quoted
      const quote = want === "string" && (typeof e.data === "number" || typeof e.data === "boolean") ? `quote it: "${src.text.slice(range[0], range[1])}"` : undefined;
      return at("E304", `${where(keys)} must be ${wanted[want] ?? want}, not ${jsonType(e.data)}`, range, quote);
    }
    case "enum":
    case "const": {
      const allowed = e.keyword === "enum" ? ((e.params as { allowedValues: unknown[] }).allowedValues ?? []) : [(e.params as { allowedValue: unknown }).allowedValue];
      const isVersion = keys.length === 1 && keys[0] === "version";
      const isChannelType = keys.length === 3 && keys[0] === "channels" && keys[2] === "type";
      const code: DiagnosticCode = isVersion ? "E320" : isChannelType ? "E306" : "E305";
      const near = typeof e.data === "string" ? closest(e.data, allowed.map(String)) : undefined;
      const list = allowed.map((v) => `\`${String(v)}\``).join(", ");
      const versionWords = typeof e.data === "number" ? `this Covenant reads version ${list} of covenant.yaml, not \`${String(e.data)}\`` : `\`version\` is the number ${list}, unquoted, not ${jsonType(e.data)}`;
      const message = isVersion ? versionWords : `${where(keys)} is \`${String(e.data)}\`; it may be ${list}`;
      return at(code, message, valueRange(doc, keys), near !== undefined ? `did you mean \`${near}\`?` : undefined);
    }
    case "pattern": {
      const code = patternCode(e) ?? "E329";
      return at(code, `${where(keys)} is not ${patternWords(e) ?? `of the form ${String((e.params as { pattern: string }).pattern)}`}`, valueRange(doc, keys));
    }
    case "uniqueItems": {
      const { i } = e.params as { i: number; j: number };
      return at("E321", `${where(keys)} lists the same value twice`, valueRange(doc, [...keys, String(i)]));
    }
    default:
      return at("E321", `${where(keys)} ${limitWords(e)}`, valueRange(doc, keys));
  }
}

function unknownKey(e: ErrorObject, keys: string[], doc: Document, src: ConfigSource): ConfigDiagnostic {
  const key = (e.params as { additionalProperty: string }).additionalProperty;
  const known = Object.keys((e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
  const range = keyRange(doc, [...keys, key]);
  if (key in LITERAL_SECRETS && known.includes(`${key}_file`)) {
    // the value is never quoted: only the key is named, and the check's excerpt masks it (load.ts)
    return src.diagnostic("E318", `${where(keys)} holds a secret in the file itself (\`${key}\`): a secret is read from a file or an environment variable, never written here`, range, {
      text: key,
      suggestion: `write \`${key}_file: /etc/covenant/${key.replace("_", "-")}\` (a file only root can read, mode 0600) or \`${key}_env: VARIABLE\` instead`,
    });
  }
  if (keys.length === 1 && keys[0] === "route" && (key === "match" || key === "continue")) {
    return src.diagnostic("E302", `the root route takes no \`${key}\`: it matches every deficiency`, range, { text: key, suggestion: `put \`${key}\` on a route under \`routes:\`` });
  }
  const near = closest(key, known);
  const where_ = keys.length === 0 ? "at the top of the file" : `under ${where(keys)}`;
  return src.diagnostic("E302", `unknown key \`${key}\` ${where_}`, range, {
    text: key,
    suggestion: near !== undefined ? `did you mean \`${near}\`?` : `known keys here: ${known.join(", ")}`,
  });
}

function patternCode(e: ErrorObject): DiagnosticCode | undefined {
  const pattern = (e.params as { pattern?: string }).pattern;
  return PATTERN_CODES.find(([p]) => p === pattern)?.[1];
}

function patternWords(e: ErrorObject): string | undefined {
  const pattern = (e.params as { pattern?: string }).pattern;
  const words = PATTERN_CODES.find(([p]) => p === pattern)?.[2];
  if (words !== undefined) return words;
  return (e.parentSchema as { description?: string } | undefined)?.description;
}

function limitWords(e: ErrorObject): string {
  const limit = (e.params as { limit?: number }).limit;
  switch (e.keyword) {
    case "minimum":
      return `must be at least ${limit}`;
    case "maximum":
      return `must be at most ${limit}`;
    case "minItems":
      return limit === 1 ? "must not be empty" : `must list at least ${limit}`;
    case "minLength":
      return "must not be empty";
    case "maxLength":
      return `is longer than the ${limit} characters allowed`;
    default:
      return e.message ?? "is not allowed here";
  }
}
