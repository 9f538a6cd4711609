// Loading covenant.yaml: read (bounded, judged as root), parsed with positions, validated against
// the schema, checked for meaning, then shaped into a NotifyConfig. Every problem is reported at
// once, each at its line and column; a configuration with any error yields no configuration, so
// notifications never half-start on a file half understood.
import { resolve } from "node:path";
import { isMap, isScalar, parseDocument, visit, type Document, type Node } from "yaml";
import { runningAsRoot } from "../trust/strict-modes.js";
import { compareConfigDiagnostics, ConfigSource, fileDiagnostic, shortText, type ConfigDiagnostic } from "./diagnostic.js";
import { judgeCaFile, judgeSecretFile, readConfigFile } from "./files.js";
import { normalise } from "./normalise.js";
import { rangeOf, valueRange } from "./positions.js";
import { LITERAL_SECRETS, validateSchema } from "./schema.js";
import { checkSemantics, isObj } from "./semantics.js";
import type { NotifyConfig } from "./types.js";

export type { ConfigDiagnostic } from "./diagnostic.js";
export { findConfig } from "./locate.js";

export interface LoadOptions {
  /** judge the file and its secret files by root's rule (default: whether running as root) */
  root?: boolean;
  /** look at the secret files the configuration names (exist, closed to others); default true */
  checkSecretFiles?: boolean;
}

export interface LoadResult {
  config?: NotifyConfig;
  diagnostics: ConfigDiagnostic[];
  /** the file's text with any secret written in it blotted out (same length), for excerpts; absent when it could not be read */
  text?: string;
}

export function loadConfig(path: string, opts: LoadOptions = {}): LoadResult {
  const file = resolve(path);
  const root = opts.root ?? runningAsRoot();
  const read = readConfigFile(file, root);
  if ("code" in read) return { diagnostics: [fileDiagnostic(read.code, file, read.message, read.suggestion)] };
  return parseConfig(read.text, file, { ...opts, root });
}

/** As loadConfig, from text already read: `file` names it in diagnostics. */
export function parseConfig(text: string, file: string, opts: LoadOptions = {}): LoadResult {
  const src = new ConfigSource(file, text);
  // positions are offsets on each node (kept by parseDocument); lines and columns are counted as
  // the check command counts them (LineIndex: UTF-16 columns), so that its excerpts line up
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, strict: true, version: "1.2" });
  const diagnostics: ConfigDiagnostic[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    // yaml catches its own stack overflow on absurd nesting and reports it as an error
    const first = e.message.split("\n", 1)[0]!.replace(/ at line \d+, column \d+:?$/, "");
    const message = /call stack/i.test(first) ? "nested too deep to be read (a configuration needs a few levels)" : first;
    const duplicate = e.code === "DUPLICATE_KEY";
    if (duplicate) {
      const key = keyAt(doc, e.pos[0]);
      const range = rangeOf(key) ?? [e.pos[0], e.pos[1]];
      const name = isScalar(key) ? String(key.value) : src.text.slice(range[0], range[1]);
      diagnostics.push(src.diagnostic("E301", `the key \`${name}\` is given twice in one mapping: YAML keeps one, and which one was meant is unclear`, range, { text: name, suggestion: "keep one of them (or merge them)" }));
    } else diagnostics.push(src.diagnostic("E300", `YAML: ${message}`, [e.pos[0], Math.max(e.pos[0], e.pos[1])], { text: shortText(src.text.slice(e.pos[0])) }));
  }
  // past a syntax error the tree is a guess: what follows would be noise
  if (diagnostics.some((d) => d.code === "E300")) return done(diagnostics, text);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    const why = err instanceof RangeError && /call stack/i.test(err.message) ? "nested too deep to be read" : (err as Error).message;
    return done([...diagnostics, src.diagnostic("E300", `YAML: ${why}`, [0, 0])], text);
  }
  if (!isObj(value)) {
    const range = rangeOf(doc.contents) ?? [0, 0];
    return done([...diagnostics, src.diagnostic("E332", value === null || value === undefined ? "the configuration is empty" : "the configuration must be a mapping of keys (version:, stakeholders:, channels:, route:, …)", range, { suggestion: "start from docs/configuration.md's example" })], text);
  }
  diagnostics.push(...validateSchema(value, doc, src), ...checkSemantics(value, doc, src));
  if (opts.checkSecretFiles !== false) diagnostics.push(...secretFiles(value, doc, src, opts.root ?? runningAsRoot()));
  const masked = maskSecrets(text, doc);
  if (diagnostics.some((d) => d.severity === "error")) return done(diagnostics, masked);
  return { config: normalise(value, file, doc, src), diagnostics: diagnostics.sort(compareConfigDiagnostics), text: masked };
}

/** The mapping key that starts at `offset` (where yaml reports a duplicate). */
function keyAt(doc: Document, offset: number): Node | undefined {
  let found: Node | undefined;
  visit(doc, {
    Pair(_, pair) {
      const key = pair.key as Node | null;
      if (key?.range?.[0] === offset) {
        found = key;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

function done(diagnostics: ConfigDiagnostic[], text: string): LoadResult {
  return { diagnostics: diagnostics.sort(compareConfigDiagnostics), text };
}

/** Every `*_file` of a secret, and every `ca_file`, judged where it is (without reading it) and reported at its value. */
function secretFiles(value: Record<string, unknown>, doc: Document, src: ConfigSource, root: boolean): ConfigDiagnostic[] {
  const out: ConfigDiagnostic[] = [];
  const channels = isObj(value["channels"]) ? value["channels"] : {};
  for (const [name, c] of Object.entries(channels)) {
    if (!isObj(c)) continue;
    // a CA file decides which servers the channel trusts: judged as the configuration is
    const ca = c["ca_file"];
    if (typeof ca === "string" && ca.startsWith("/")) {
      const problem = judgeCaFile(ca, root);
      if (problem) out.push(src.diagnostic(problem.code, problem.message, valueRange(doc, ["channels", name, "ca_file"]), problem.suggestion !== undefined ? { suggestion: problem.suggestion } : {}));
    }
    const places: [Record<string, unknown>, string[]][] = [[c, ["channels", name]]];
    if (isObj(c["auth"])) places.push([c["auth"], ["channels", name, "auth"]]);
    for (const [o, at] of places) {
      for (const key of ["password_file", "auth_token_file", "secret_file"]) {
        const path = o[key];
        if (typeof path !== "string" || !path.startsWith("/")) continue;
        const problem = judgeSecretFile(path, root);
        if (problem) out.push(src.diagnostic(problem.code, problem.message, valueRange(doc, [...at, key]), problem.suggestion !== undefined ? { suggestion: problem.suggestion } : {}));
      }
    }
  }
  return out;
}

/** The text with the value of every literal secret key (`password: …`) replaced by asterisks, positions kept. */
function maskSecrets(text: string, doc: Document): string {
  let out = text;
  const visit = (node: unknown): void => {
    if (!isMap(node)) {
      if (node && typeof node === "object" && "items" in node) for (const i of (node as { items: unknown[] }).items) visit(i);
      return;
    }
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "";
      const range = rangeOf(pair.value as never);
      if (key in LITERAL_SECRETS && range) out = out.slice(0, range[0]) + out.slice(range[0], range[1]).replace(/[^\r\n]/g, "*") + out.slice(range[1]);
      else visit(pair.value);
    }
  };
  visit(doc.contents);
  return out;
}
