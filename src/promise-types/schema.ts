// The schema language: how promise types (and the language's own blocks) declare their
// attributes as data. The checker validates against it, and the docs are generated from it.

export type ValueType =
  | { kind: "string"; nonEmpty?: boolean; pattern?: RegExp; patternHint?: string }
  | { kind: "integer"; min?: number; max?: number }
  | { kind: "number"; min?: number; max?: number }
  /** `or`: names accepted besides `true` and `false` (`exists = optional`); checked as the name itself */
  | { kind: "boolean"; or?: readonly string[] }
  | { kind: "duration"; min?: number }
  | { kind: "size" }
  | { kind: "percent" }
  | { kind: "sigma" }
  | { kind: "mode" }
  | { kind: "cidr" }
  | { kind: "path"; glob?: boolean }
  /** `linear`: applied to text an attacker writes, so it runs on RE2's linear-time engine, and what that cannot run is refused (E103) */
  | { kind: "regex"; linear?: boolean }
  | { kind: "date" }
  | { kind: "port" }
  | { kind: "enum"; values: readonly string[] }
  | { kind: "list"; of: ValueType; nonEmpty?: boolean }
  /** a single value or a list of them; checked values are always lists */
  | { kind: "oneOrMany"; of: ValueType }
  /** a value of the first type that accepts it; checked values are `{ kind, value }` with that type's kind */
  | { kind: "union"; of: ValueType[] }
  /** a command as an argv list: at least one string, the first an absolute path; never a shell line */
  | { kind: "argv" }
  /** a stakeholder name declared with `stakeholder` */
  | { kind: "stakeholder" }
  /** a boolean condition over host facts and contexts */
  | { kind: "condition" };

export interface AttributeSpec {
  name: string;
  type: ValueType;
  description: string;
  required?: boolean;
  /** the default, as it would be written in a policy (for docs) */
  default?: string;
  /** false for attributes that may differ between two promises on one promiser (comments, handles) */
  comparable?: boolean;
  /**
   * Part of what the promise is about, with its promiser (which accounts `account "*"` picks):
   * two promises that differ in it are about different things, so none of their attributes
   * contradict.
   */
  selects?: boolean;
}

/** Cross-attribute rules, declared as data so that docs can state them. */
export type Constraint =
  | { kind: "lessOrEqual"; lower: string; upper: string }
  | { kind: "atLeastOne"; attributes: string[] }
  | { kind: "exclusive"; attributes: string[] }
  | { kind: "requires"; attribute: string; whenAttribute: string; hasValue: string };

export interface PromiserSpec {
  type: ValueType;
  description: string;
}

export interface PromiseTypeSpec {
  /** DSL keyword, file name, registry key, test file and doc page: one name */
  name: string;
  summary: string;
  description: string;
  /** null when the type takes no promiser (host-wide checks such as `load`) */
  promiser: PromiserSpec | null;
  attributes: AttributeSpec[];
  constraints?: Constraint[];
  /** what the evaluator may repair, in words, for docs */
  repairs: string;
  example: string;
}

export function describeType(t: ValueType): string {
  switch (t.kind) {
    case "string":
      return t.patternHint ? `a string (${t.patternHint})` : "a string";
    case "integer":
      return `a whole number${range(t.min, t.max)}`;
    case "number":
      return `a number${range(t.min, t.max)}`;
    case "boolean":
      return t.or ? `\`true\`, \`false\`${t.or.map((n) => ` or \`${n}\``).join("")}` : "`true` or `false`";
    case "duration":
      return "a duration such as `90s`, `5m` or `4h`";
    case "size":
      return "a size such as `10MB` or `512KiB`";
    case "percent":
      return "a percentage such as `80%`";
    case "sigma":
      return "a number of standard deviations such as `3 sigma`";
    case "mode":
      return "an octal file mode such as `0640`";
    case "cidr":
      return "an address or network such as `10.20.0.0/24` or `fd00::/8`";
    case "path":
      return t.glob ? 'an absolute path or glob such as `"/srv/ledger/*.dat"`' : 'an absolute path such as `"/etc/passwd"`';
    case "regex":
      return "a regular expression in a string";
    case "date":
      return "a date such as `2026-12-31`";
    case "port":
      return "a port number (1-65535)";
    case "enum":
      return `one of ${t.values.map((v) => `\`${v}\``).join(", ")}`;
    case "list":
      return `a list of ${plural(describeType(t.of))}`;
    case "oneOrMany":
      return `${describeType(t.of)}, or a list of them`;
    case "union":
      return t.of.map(describeType).join(", or ");
    case "argv":
      return 'a command as a list of strings, such as `["/usr/bin/test", "-f", "/x"]`';
    case "stakeholder":
      return "a stakeholder name";
    case "condition":
      return "a condition over host facts and contexts";
  }
}

function range(min?: number, max?: number): string {
  if (min !== undefined && max !== undefined) return ` from ${min} to ${max}`;
  if (min !== undefined) return ` of at least ${min}`;
  if (max !== undefined) return ` of at most ${max}`;
  return "";
}

function plural(s: string): string {
  return s.replace(/^an? /, "").replace(/^(\S+)/, "$1s").replace(/^(`true`|one)s\b/, "$1");
}

/** Permission and ownership attributes shared by `file` and `directory`; `what` names the object. */
export function ownershipAttributes(what: string): AttributeSpec[] {
  return [
    { name: "mode", type: { kind: "mode" }, description: "Exact permission bits, in octal." },
    { name: "max_mode", type: { kind: "mode" }, description: `Permission bits the ${what} may have at most (no bit outside this mask).` },
    { name: "owner", type: { kind: "string", nonEmpty: true }, description: 'Owning user: a name, or a numeric uid such as `"0"` (a name is looked up first, as `chown` does).' },
    { name: "group", type: { kind: "string", nonEmpty: true }, description: 'Owning group: a name, or a numeric gid such as `"42"` (a name is looked up first).' },
    {
      name: "allow_hardlinks",
      type: { kind: "boolean" },
      description:
        "Let `repair = perms` change a regular file that has more than one hard link. Off by default: the change would reach the file under every other name, which may lie outside what the policy names; such a repair is held and the link count reported.",
      default: "false",
    },
  ];
}

/** Attributes every promise accepts, whatever its type. */
export const commonPromiseAttributes: AttributeSpec[] = [
  { name: "when", type: { kind: "condition" }, description: "Evaluate the promise only when this condition holds (in addition to the control's `when`).", comparable: false },
  {
    name: "every",
    type: { kind: "duration" },
    description:
      "How often `covenant watch` evaluates the promise, from `10s` to `24h` (E125); overrides the control's `every`. Without either, the watcher's default (`covenant watch --every`, `5m`). Read by `covenant watch`; `covenant run` evaluates every promise each time it runs, whatever its `every`.",
    comparable: false,
  },
  {
    name: "handle",
    type: { kind: "string", pattern: /^[A-Za-z_][A-Za-z0-9_.-]*$/, patternHint: "letters, digits, `_`, `.` and `-`" },
    description: "A name other promises can refer to in `depends_on`.",
    comparable: false,
  },
  { name: "depends_on", type: { kind: "list", of: { kind: "string" } }, description: "Handles of promises that must be evaluated before this one.", comparable: false },
  { name: "timeout", type: { kind: "duration", min: 1 }, description: "Give up observing or repairing after this long; the outcome is then `error`.", default: "30s", comparable: false },
  { name: "comment", type: { kind: "string" }, description: "Free text kept with the promise and shown in reports.", comparable: false },
];
