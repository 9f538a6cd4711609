// sudoers(5), for its `Defaults`: `Defaults` (or `Defaults:users`, `@hosts`, `!commands`,
// `>runas`, which apply to some only) followed by parameters separated by commas: `name` (a
// flag, on), `!name` (off), `name=value`, `name+=value`, `name-=value`; values in double quotes
// may hold commas and blanks. `#` starts a comment, except `#include` and `#includedir`; a line
// ending in `\` goes on. `@include`/`#include` read a file in place (relative to the including
// file's directory), `@includedir`/`#includedir` every file of a directory whose name has no `.`
// and does not end in `~`, in lexical order. The last setting of a parameter wins.
import { dirname } from "node:path";
import { contentEnd, splitLines, type ConfigSetting, type ParsedConfig } from "./setting.js";

const blank = (c: string | undefined) => c === " " || c === "\t";

/** A logical line: physical lines joined where one ends in `\`, with where each part starts in the joined text and on which line. */
interface LogicalLine {
  text: string;
  line: number;
  continued: boolean;
  parts: { offset: number; line: number; length: number }[];
}

function logicalLines(text: string): LogicalLine[] {
  const out: LogicalLine[] = [];
  let pending: LogicalLine | undefined;
  splitLines(text).forEach((raw, i) => {
    const body = raw.slice(0, contentEnd(raw));
    const more = body.endsWith("\\");
    const part = more ? body.slice(0, -1) : raw;
    if (pending) {
      pending.parts.push({ offset: pending.text.length, line: i + 1, length: part.length });
      pending.text += part;
      pending.continued = true;
    } else pending = { text: part, line: i + 1, continued: false, parts: [{ offset: 0, line: i + 1, length: part.length }] };
    if (!more) {
      out.push(pending);
      pending = undefined;
    }
  });
  if (pending) out.push(pending);
  return out;
}

/**
 * A setting of a continued line placed on the physical line its value starts on, its span cut
 * to that line (it is never edited: `fixed`), so that every setting lies where it says it does.
 */
function placed(s: ConfigSetting, l: LogicalLine): ConfigSetting {
  if (!l.continued) return s;
  const part = l.parts.findLast((p) => p.offset <= s.valueStart) ?? l.parts[0]!;
  const start = s.valueStart - part.offset;
  return { ...s, line: part.line, valueStart: start, valueEnd: Math.max(start, Math.min(s.valueEnd - part.offset, part.length)) };
}

export function parse(text: string, path: string): ParsedConfig {
  const out: ParsedConfig = { settings: [], includes: [], skipped: [] };
  const here = dirname(path);
  for (const l of logicalLines(text)) {
    const trimmed = l.text.trim();
    const inc = /^[@#](include|includedir)[ \t]+(.+)$/.exec(trimmed);
    if (inc) {
      const target = unquote(inc[2]!.trim());
      out.includes.push({ line: l.line, patterns: [target.startsWith("/") ? target : `${here}/${target}`], ...(inc[1] === "includedir" ? { directory: true } : {}) });
      continue;
    }
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const d = /^([ \t]*)Defaults([:@!>][^ \t]+)?[ \t]+/.exec(l.text);
    if (!d) continue; // user specifications and aliases: not settings
    const block = d[2] ? `Defaults${d[2]}` : undefined;
    out.settings.push(...parameters(l.text, d[0].length, l.line, l.continued, block).map((s) => placed(s, l)));
  }
  return out;
}

/** The parameters of a Defaults line from `from`, each with its span on the line. */
function parameters(line: string, from: number, number: number, continued: boolean, block: string | undefined): ConfigSetting[] {
  const out: ConfigSetting[] = [];
  const end = contentEnd(line);
  let i = from;
  while (i < end) {
    while (i < end && (blank(line[i]) || line[i] === ",")) i++;
    if (i >= end || line[i] === "#") break;
    const start = i;
    let quoted = false;
    while (i < end && (quoted || line[i] !== ",")) {
      if (line[i] === "\\") i++;
      else if (line[i] === '"') quoted = !quoted;
      i++;
    }
    const entry = line.slice(start, i).trimEnd();
    const m = /^(!*)([A-Za-z_][A-Za-z0-9_]*)\s*(?:([+-]?=)\s*(.*))?$/.exec(entry);
    if (!m) continue;
    const [, bangs, name, op, raw] = m;
    const s: ConfigSetting = { key: name!, written: name!, value: "", line: number, valueStart: start, valueEnd: start + entry.length };
    if (op === undefined) {
      s.value = bangs!.length % 2 === 1 ? "false" : "true";
      s.entry = true;
    } else {
      s.value = unquote(raw!.trim());
      s.valueStart = start + entry.length - raw!.length;
      if (op !== "=" || bangs !== "") s.fixed = true;
    }
    if (continued) s.fixed = true;
    if (block !== undefined) s.block = block;
    out.push(s);
  }
  return out;
}

function unquote(v: string): string {
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\(.)/g, "$1");
  return v.replace(/\\(.)/g, "$1");
}

/** A value as sudoers reads it back: quoted unless it is plain. */
export function renderValue(value: string): string {
  return /^[A-Za-z0-9_./:%@+-]+$/.test(value) ? value : `"${value.replace(/["\\]/g, "\\$&")}"`;
}

/** One parameter: a flag for `true`/`false`, else `name=value`. */
export function renderEntry(key: string, value: string): string {
  if (value === "true") return key;
  if (value === "false") return `!${key}`;
  return `${key}=${renderValue(value)}`;
}

export function render(key: string, value: string): string {
  return `Defaults ${renderEntry(key, value)}`;
}
