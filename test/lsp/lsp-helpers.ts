// Shared by the language server's tests: `covenant check --json` and the server's publications,
// each brought to one comparable form, and a server started on a folder.
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileUri, startClient, type Client, type Published } from "../../bench/lsp/client.mjs";
import { bin, covenant } from "../helpers/cli.js";

/** The date waivers are judged on, on both sides: a run across midnight must not differ. */
export const TODAY = "2026-12-01";

export interface Said {
  uri: string;
  line: number;
  character: number;
  endLine: number;
  endCharacter: number;
  severity: "error" | "warning";
  code: string;
  message: string;
  suggestion?: string;
  related?: { uri: string; line: number; character: number; message: string }[];
}

interface CheckJson {
  diagnostics: { file: string; line: number; column: number; endLine: number; endColumn: number; severity: "error" | "warning"; code: string; message: string; suggestion?: string; related?: { file: string; line: number; column: number; message: string }[] }[];
}

/** What `covenant check --json` says of `folder`, run from it, by URI, in its order. */
export function checkSays(folder: string, args: string[] = []): Map<string, Said[]> {
  const r = covenant(["check", "--json", "--today", TODAY, ...args, "."], { cwd: folder });
  if (r.code !== 0 && r.code !== 2) throw new Error(`check failed (${r.code}): ${r.err}`);
  const json = JSON.parse(r.out) as CheckJson;
  const out = new Map<string, Said[]>();
  for (const d of json.diagnostics) {
    const uri = fileUri(resolve(folder, d.file));
    const said: Said = { uri, line: d.line - 1, character: d.column - 1, endLine: d.endLine - 1, endCharacter: d.endColumn - 1, severity: d.severity, code: d.code, message: d.message };
    if (d.suggestion !== undefined) said.suggestion = d.suggestion;
    if (d.related) said.related = d.related.map((x) => ({ uri: fileUri(resolve(folder, x.file)), line: x.line - 1, character: x.column - 1, message: x.message }));
    out.set(uri, [...(out.get(uri) ?? []), said]);
  }
  return out;
}

/** What the server last published, by URI (those with nothing to say left out), in the same form. */
export function serverSays(client: Client): Map<string, Said[]> {
  const out = new Map<string, Said[]>();
  for (const [uri, p] of client.published) {
    if (p.diagnostics.length === 0) continue;
    out.set(uri, p.diagnostics.map((d) => fromLsp(uri, d)));
  }
  return out;
}

function fromLsp(uri: string, d: Published["diagnostics"][number]): Said {
  const suggestion = d.data?.suggestion;
  const help = suggestion !== undefined ? `\nhelp: ${suggestion}` : "";
  if (!d.message.endsWith(help)) throw new Error(`the message does not end with its suggestion: ${d.message}`);
  const said: Said = { uri, line: d.range.start.line, character: d.range.start.character, endLine: d.range.end.line, endCharacter: d.range.end.character, severity: d.severity === 1 ? "error" : "warning", code: String(d.code), message: d.message.slice(0, d.message.length - help.length) };
  if (suggestion !== undefined) said.suggestion = suggestion;
  if (d.relatedInformation) said.related = d.relatedInformation.map((r) => ({ uri: r.location.uri, line: r.location.range.start.line, character: r.location.range.start.character, message: r.message }));
  return said;
}

/** The .promise files directly in `folder`, sorted. */
export function policyFiles(folder: string): string[] {
  return readdirSync(folder)
    .filter((f) => f.endsWith(".promise"))
    .sort()
    .map((f) => join(folder, f));
}

export function startServer(folder: string, initializationOptions: Record<string, unknown> = {}): Promise<Client> {
  return startClient({ bin, cwd: folder, initializationOptions: { today: TODAY, ...initializationOptions } });
}

/** Sorted by URI: the two sides list files in their own order, and each file's diagnostics in check's. */
export const byUri = (m: Map<string, Said[]>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

export type Position = { line: number; character: number };
export type Range = { start: Position; end: Position };
export type Edit = { range: Range; newText: string };

/** The position of the first `needle` in `text` (plus `after` characters). */
export function at(text: string, needle: string, after = 0): Position {
  const offset = text.indexOf(needle);
  if (offset === -1) throw new Error(`no ${needle} in the fixture`);
  const lines = text.slice(0, offset + after).split("\n");
  return { line: lines.length - 1, character: lines.at(-1)!.length };
}

/** `text` with an editor's edits applied (last first, so that earlier offsets hold). */
export function applyEdits(text: string, edits: Edit[]): string {
  const offset = (p: Position) => text.split("\n").slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
  let out = text;
  for (const e of [...edits].sort((a, b) => offset(b.range.start) - offset(a.range.start))) out = out.slice(0, offset(e.range.start)) + e.newText + out.slice(offset(e.range.end));
  return out;
}
