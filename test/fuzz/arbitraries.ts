// Inputs for fuzzing `check` and `fmt`: byte mutations of real policies, and policies generated
// from the language's grammar and the promise types' schemas (mostly well-formed, with a share of
// wrong kinds of value, unknown names and odd characters, so both the clean and the error paths run).
//
// Bounded on purpose: nesting of conditions stays shallow and a string interpolates at most one
// variable, so no generated input is a deep-nesting or self-doubling-variable case (those are
// bounded by the parser and checker themselves and tested there).
import fc from "fast-check";
import { factCatalogue, weekdays } from "../../src/facts/catalog.ts";
import { attributesOf, promiseTypes } from "../../src/promise-types/registry.ts";
import type { ValueType } from "../../src/promise-types/schema.ts";
import { corpus } from "./corpus.ts";

// ---- byte mutations -------------------------------------------------------------------------

type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "token"; at: number; token: string }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; length: number }
  | { kind: "duplicate"; from: number; length: number; to: number }
  | { kind: "splice"; at: number; donor: number; from: number; length: number };

// Pieces that reach corners of the scanner and the checker: unclosed openers, odd numbers,
// dates and networks, a byte order mark, lone surrogates, line ends of other systems.
const tokens = [
  "${", "}", '"""', "/*", "*/", "//", "#", "\r\n", "\r", "\uFEFF", "\uD800", "\uDC00", "\u0000", "\u001b[31m", "\u202e",
  "99999999999999999999999", "1e999", "-0", "0x10", "00000640", "2026-02-30", "2026-12-31T25:61Z", "255.255.255.256/33", "::ffff:1.2.3.4/129",
  '"/srv/**/**/[!a-"', "->", "-> [", "3 sigma", "101%", "5 m", "10mb", "1.5.5", "when = ", "depends_on = [", 'handle = "h"', "not not not", "(", ")", "[", "]", "=", "==", "~", "=~", "in",
  'import "common.promise"', 'import "nowhere.promise"', 'control "ITGC-AC-01" {', "let ", "context ", "waiver", "stakeholder", "calendar {", "\\", '\\"', "\n\n\n",
];

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("token" as const), at: fc.nat(), token: fc.constantFrom(...tokens) }),
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant("duplicate" as const), from: fc.nat(), length: fc.integer({ min: 1, max: 200 }), to: fc.nat() }),
  fc.record({ kind: fc.constant("splice" as const), at: fc.nat(), donor: fc.nat(), from: fc.nat(), length: fc.integer({ min: 1, max: 300 }) }),
);

const donors = corpus.map((t) => Buffer.from(t, "utf8"));

function apply(bytes: Buffer, m: Mutation): Buffer {
  const at = (n: number) => n % (bytes.length + 1);
  switch (m.kind) {
    case "flip": {
      if (bytes.length === 0) return bytes;
      const copy = Buffer.from(bytes);
      copy[m.at % copy.length]! ^= 1 << m.bit;
      return copy;
    }
    case "insert":
      return Buffer.concat([bytes.subarray(0, at(m.at)), m.bytes, bytes.subarray(at(m.at))]);
    case "token":
      return Buffer.concat([bytes.subarray(0, at(m.at)), Buffer.from(m.token, "utf8"), bytes.subarray(at(m.at))]);
    case "delete":
      return Buffer.concat([bytes.subarray(0, at(m.at)), bytes.subarray(at(m.at) + m.length)]);
    case "duplicate": {
      const from = at(m.from);
      const slice = bytes.subarray(from, from + m.length);
      return Buffer.concat([bytes.subarray(0, at(m.to)), slice, bytes.subarray(at(m.to))]);
    }
    case "splice": {
      const donor = donors[m.donor % donors.length]!;
      const from = m.from % (donor.length + 1);
      return Buffer.concat([bytes.subarray(0, at(m.at)), donor.subarray(from, from + m.length), bytes.subarray(at(m.at))]);
    }
  }
}

/** A real policy with one to eight byte-level mutations, decoded as `check` decodes files. */
export const mutatedPolicy: fc.Arbitrary<string> = fc
  .tuple(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 8 }))
  .map(([which, ms]) => ms.reduce(apply, Buffer.from(donors[which % donors.length]!)).toString("utf8"));

/** Random bytes, decoded as UTF-8. */
export const randomBytes: fc.Arbitrary<string> = fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString("utf8"));

// ---- grammar --------------------------------------------------------------------------------

const names = ["ledger_dir", "db_ports", "app_servers", "hosts", "close_period", "ledger_host", "weekend", "security", "compliance", "ops", "x", "_y2"];
const stakeholders = ["security", "compliance", "ops", "dba_oncall"];
const name = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...names) }, { weight: 1, arbitrary: fc.constantFrom("let", "control", "true", "in", "nmae", "hostname") });

/** A name to declare: mostly fresh ones (the prelude declares the others), now and then a clash. */
const newName = fc.oneof({ weight: 3, arbitrary: fc.constantFrom("v1", "v2", "c1", "c2", "limit") }, { weight: 1, arbitrary: name });

const space = fc.constantFrom(" ", " ", " ", "  ", "\t", "");
const comment = fc.oneof(
  fc.string({ maxLength: 20 }).map((s) => `// ${s.replace(/[\r\n]/g, " ")}`),
  fc.string({ maxLength: 12 }).map((s) => `# ${s.replace(/[\r\n]/g, " ")}`),
  fc.string({ maxLength: 20 }).map((s) => `/* ${s.replace(/\*\//g, "")} */`),
  fc.constant("/* a\n   block */"),
);
const trailing = fc.option(comment.map((c) => ` ${c.startsWith("/*") && c.includes("\n") ? "// tail" : c}`), { nil: "", freq: 4 });

// String contents: text, escapes, an interpolation (at most one per string, see above), and
// now and then a character that must be escaped or rejected.
const stringChunk = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[a-zA-Z0-9 ./_*?:-]{0,12}$/) },
  { weight: 2, arbitrary: fc.constantFrom("\\n", "\\t", "\\\"", "\\\\", "\\$", "\\0", "é", "✓", "\\q") },
  { weight: 1, arbitrary: fc.constantFrom("\u001b[31m", "\r", "\u202e", "\u0000", "\u0085", "\t") },
);
const interpolation = fc.constantFrom(...names).map((n) => `\${${n}}`);
const stringLiteral = fc
  .tuple(fc.array(stringChunk, { maxLength: 4 }), fc.option(interpolation, { nil: undefined, freq: 3 }), fc.nat())
  .map(([chunks, interp, at]) => {
    if (interp !== undefined) chunks.splice(at % (chunks.length + 1), 0, interp);
    return `"${chunks.join("")}"`;
  });
const textBlock = fc.array(fc.stringMatching(/^[a-zA-Z ,.]{0,30}$/), { minLength: 1, maxLength: 3 }).map((ls) => `"""\n${ls.map((l) => `    ${l}`).join("\n")}\n    """`);

const scalar: Record<string, fc.Arbitrary<string>> = {
  integer: fc.integer({ min: -5, max: 100_000 }).map(String),
  number: fc.oneof(fc.integer({ min: 0, max: 50 }).map(String), fc.constantFrom("4.5", "0.25", "-3")),
  boolean: fc.constantFrom("true", "false"),
  duration: fc.tuple(fc.integer({ min: 0, max: 90 }), fc.constantFrom("ms", "s", "m", "h", "d", "w")).map(([n, u]) => `${n}${u}`),
  size: fc.tuple(fc.integer({ min: 0, max: 900 }), fc.constantFrom("B", "KB", "MB", "GB", "KiB", "MiB", "mb")).map(([n, u]) => `${n}${u}`),
  percent: fc.integer({ min: 0, max: 120 }).map((n) => `${n}%`),
  sigma: fc.integer({ min: 1, max: 6 }).map((n) => `${n} sigma`),
  mode: fc.constantFrom("0640", "0750", "0600", "0755", '"0644"', "0999", "640"),
  cidr: fc.constantFrom("10.20.0.0/24", '"10.20.1.15/32"', "::1", '"fd00::/8"', "10.0.0.0/33", "127.0.0.1"),
  path: fc.constantFrom('"/srv/ledger/gl.dat"', '"/etc/ledger/postd.conf"', '"${ledger_dir}/x"', '"relative/path"', '"/srv/../etc"', '"/tmp"'),
  glob: fc.constantFrom('"/srv/ledger/*.dat"', '"/srv/**/x"', '"/srv/[ab].dat"', '"/srv/ledger/journal.dat"', '"/srv/[.dat"'),
  regex: fc.constantFrom('"^ok$"', '"password"', '"(unclosed"', '"a{1,3}"', '""'),
  date: fc.constantFrom("2026-12-31", "2027-02-29", "2026-12-31T17:00Z", "2026-13-01", "2028-02-29"),
  port: fc.oneof(fc.integer({ min: 0, max: 70_000 }).map(String), fc.constant("db_ports")),
  argv: fc.array(fc.constantFrom('"/usr/bin/test"', '"-f"', '"/srv/x"', '"rel"', '"--flag=${ledger_dir}"'), { minLength: 0, maxLength: 4 }).map((a) => `[${a.join(", ")}]`),
  stakeholder: fc.constantFrom(...stakeholders, "nobody_known"),
  string: fc.oneof({ weight: 4, arbitrary: stringLiteral }, { weight: 1, arbitrary: textBlock }),
};

function valueOf(type: ValueType): fc.Arbitrary<string> {
  switch (type.kind) {
    case "path":
      return type.glob ? fc.oneof(scalar["glob"]!, scalar["path"]!) : scalar["path"]!;
    case "enum":
      return fc.constantFrom(...type.values, "unknown_value");
    case "list":
    case "oneOrMany": {
      const one = valueOf(type.of);
      const list = fc.array(one, { maxLength: 4 }).map((vs) => `[${vs.join(", ")}${vs.length > 0 && vs.length % 2 === 0 ? "," : ""}]`);
      return type.kind === "list" ? fc.oneof({ weight: 4, arbitrary: list }, { weight: 1, arbitrary: name }) : fc.oneof(one, list);
    }
    case "union":
      return fc.oneof(...type.of.map(valueOf));
    case "condition":
      return condition;
    default:
      return scalar[type.kind] ?? stringLiteral;
  }
}

/** Any value at all: the wrong kind for an attribute, now and then. */
const anyValue: fc.Arbitrary<string> = fc.oneof(...Object.values(scalar), name);

const factNames = factCatalogue.map((f) => f.name);
const comparison = fc.oneof(
  fc.tuple(fc.constantFrom("hour", "minute", "month", "business_day_of_month", "year"), fc.constantFrom("<", "<=", ">", ">=", "==", "!="), fc.integer({ min: 0, max: 2030 })).map(([f, op, n]) => `${f} ${op} ${n}`),
  fc.tuple(fc.constantFrom("hostname", "fqdn", "os_id"), fc.constantFrom("~", "!~", "=~", "==", "in"), stringLiteral).map(([f, op, s]) => `${f} ${op} ${s}`),
  fc.constantFrom(...weekdays).map((d) => `weekday == ${d}`),
  fc.constant("weekday in [saturday, sunday]"),
  fc.constant('ip in "10.0.0.0/8"'),
  fc.constantFrom("is_business_day", "true", "false", "close_period", "ledger_host", "weekend", "date >= 2026-12-01"),
  fc.constantFrom(...factNames),
);

// Three levels at most: deep nesting is bounded and tested by the parser's own tests.
const condition: fc.Arbitrary<string> = fc.letrec<{ c: string }>((tie) => ({
  c: fc.oneof(
    { depthSize: "small", maxDepth: 3 },
    { weight: 3, arbitrary: comparison },
    fc.tuple(tie("c"), fc.constantFrom("and", "or"), tie("c")).map(([a, op, b]) => `${a} ${op} ${b}`),
    tie("c").map((c) => `not ${c}`),
    tie("c").map((c) => `(${c})`),
  ),
})).c;

const separator = fc.constantFrom("\n", "\n", "\n", "; ", " ");

function attributes(specs: { name: string; type: ValueType }[], indent: string): fc.Arbitrary<string> {
  const one = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...specs).chain((s) => fc.tuple(fc.constant(s.name), valueOf(s.type))) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...specs.map((s) => s.name), "colour", "mod"), anyValue) },
  );
  // mostly each attribute once (a repeated one is E105, which stops checking it further)
  const list = fc.oneof(
    { weight: 3, arbitrary: fc.uniqueArray(fc.tuple(one, space, trailing, separator), { maxLength: 6, selector: ([[n]]) => n }) },
    { weight: 1, arbitrary: fc.array(fc.tuple(one, space, trailing, separator), { maxLength: 6 }) },
  );
  return list.map((as) => as.map(([[n, v], sp, tail, sep]) => `${indent}${n}${sp}=${sp === "" ? " " : sp}${v}${sep === "\n" ? tail : ""}${sep}`).join(""));
}

const arrow = fc.oneof(
  fc.constant(""),
  fc.constantFrom(...stakeholders).map((s) => ` -> ${s}`),
  fc.subarray(stakeholders, { minLength: 1 }).map((ss) => ` -> [${ss.join(", ")}]`),
);

const promise: fc.Arbitrary<string> = fc.constantFrom(...promiseTypes.keys(), "files").chain((type) => {
  const spec = promiseTypes.get(type);
  const specs = [...(attributesOf(type)?.values() ?? attributesOf("file")!.values())];
  const promiser = spec?.promiser ? valueOf(spec.promiser.type).map((p) => ` ${p}`) : fc.constant("");
  return fc.tuple(promiser, arrow, attributes(specs, "    "), trailing).map(([p, a, body, tail]) => `  ${type}${p}${a} {${tail}\n${body}  }\n`);
});

const controlSpecs: { name: string; type: ValueType }[] = [
  { name: "title", type: { kind: "string" } },
  { name: "owner", type: { kind: "stakeholder" } },
  { name: "severity", type: { kind: "enum", values: ["low", "medium", "high", "critical"] } },
  { name: "key", type: { kind: "boolean" } },
  { name: "refs", type: { kind: "list", of: { kind: "string" } } },
  { name: "when", type: { kind: "condition" } },
  { name: "every", type: { kind: "duration" } },
  { name: "description", type: { kind: "string" } },
];

const controlId = fc.constantFrom("ITGC-AC-01", "ITGC-CM-02", "OPS-AV-01", "X", "");
const control = fc
  .tuple(controlId, stringLiteral, attributes(controlSpecs, "  "), fc.array(fc.oneof({ weight: 4, arbitrary: promise }, { weight: 1, arbitrary: comment.map((c) => `  ${c}\n`) }), { maxLength: 4 }))
  .map(([id, title, attrs, promises]) => `control "${id}" {\n  title = ${title}\n${attrs}\n${promises.join("\n")}}\n`);

const waiver = fc
  .tuple(controlId, stringLiteral, scalar["date"]!, fc.option(scalar["date"]!, { nil: undefined }))
  .map(([id, reason, until, from]) => `waiver "${id}" {\n  reason = ${reason}\n  approved_by = "j.doe"\n  until = ${until}\n${from ? `  from = ${from}\n` : ""}}\n`);

const declaration = fc.oneof(
  fc.constantFrom('import "common.promise"', 'import "missing.promise"', 'import "../elsewhere/x.promise"', 'import "main.promise"', 'import "sub/"', 'import "${x}.promise"').map((s) => `${s}\n`),
  fc.tuple(fc.constantFrom(...stakeholders, "nobody_known"), fc.option(stringLiteral, { nil: undefined })).map(([s, d]) => (d ? `stakeholder ${s} { description = ${d} }\n` : `stakeholder ${s}\n`)),
  fc.tuple(newName, space, anyValue, trailing).map(([n, sp, v, t]) => `let ${n}${sp} = ${v}${t}\n`),
  fc.tuple(newName, condition, trailing).map(([n, c, t]) => `context ${n} = ${c}${t}\n`),
  attributes(
    [
      { name: "holidays", type: { kind: "list", of: { kind: "date" } } },
      { name: "weekend", type: { kind: "list", of: { kind: "enum", values: weekdays } } },
      { name: "timezone", type: { kind: "string" } },
    ],
    "  ",
  ).map((body) => `calendar {\n${body}}\n`),
  control,
  waiver,
  comment.map((c) => `${c}\n`),
  fc.constant("\n"),
);

// The names the generator uses, declared: with it, more policies check cleanly and reach the
// checks that only run on a clean policy (contradictions, dependencies between promises).
const prelude = `stakeholder security
stakeholder compliance { description = "c" }
stakeholder ops
stakeholder dba_oncall
let ledger_dir = "/srv/ledger"
let db_ports = [5432, 1433]
let app_servers = ["10.20.0.0/24"]
let hosts = ["gl-db-1"]
let x = "x"
context close_period = business_day_of_month <= 3
context ledger_host = hostname ~ "gl-*"
context weekend = weekday in [saturday, sunday]
`;

/** A policy generated from the grammar: declarations of every kind, comments between them. */
export const generatedPolicy: fc.Arbitrary<string> = fc
  .tuple(fc.boolean(), fc.array(declaration, { minLength: 1, maxLength: 8 }))
  .map(([declared, ds]) => (declared ? prelude : "") + ds.join(""));

/** Every kind of input, weighted towards the structured ones that reach deeper. */
export const fuzzInput: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: mutatedPolicy },
  { weight: 4, arbitrary: generatedPolicy },
  { weight: 1, arbitrary: randomBytes },
);
