// sshd_config(5) as sshd reads it (servconf.c): a keyword, case-insensitive, then its arguments
// after white space or one `=`; `#` starts a comment where a line or an argument starts; double
// quotes group an argument. For most keywords the first value read wins. `Match` starts a block
// that applies to some connections only, up to the next `Match` (or the end of the file);
// `Include` reads files (globs, relative to /etc/ssh) in its place.
import type { Skip } from "../probes/result.js";
import { contentEnd, splitLines, type ConfigSetting, type ParsedConfig } from "./setting.js";

export const sshdDirectory = "/etc/ssh";

interface Tokens {
  keyword: string;
  valueStart: number;
  valueEnd: number;
  args: string[];
}

const blank = (c: string | undefined) => c === " " || c === "\t" || c === "\f";

/** The keyword and arguments of one line; undefined for a blank line or a comment; a string: why sshd refuses it. */
export function tokenize(line: string): Tokens | string | undefined {
  const end = contentEnd(line);
  let i = 0;
  while (i < end && blank(line[i])) i++;
  if (i >= end || line[i] === "#") return undefined;
  const kwStart = i;
  while (i < end && !blank(line[i]) && line[i] !== "=") i++;
  const keyword = line.slice(kwStart, i);
  while (i < end && blank(line[i])) i++;
  if (line[i] === "=") {
    i++;
    while (i < end && blank(line[i])) i++;
  }
  const valueStart = i;
  let valueEnd = i;
  const args: string[] = [];
  while (i < end) {
    while (i < end && blank(line[i])) i++;
    if (i >= end || line[i] === "#") break;
    let arg = "";
    if (line[i] === '"') {
      const close = line.indexOf('"', i + 1);
      if (close < 0 || close >= end) return `unterminated quote in the arguments of ${keyword}`;
      arg = line.slice(i + 1, close);
      i = close + 1;
    } else {
      const from = i;
      while (i < end && !blank(line[i])) i++;
      arg = line.slice(from, i);
    }
    args.push(arg);
    valueEnd = i;
  }
  if (args.length === 0) return `no argument after keyword ${keyword}`;
  return { keyword, valueStart, valueEnd, args };
}

/** The settings of one sshd_config file; `block` is the `Match` an `Include` of this file was in. */
export function parse(text: string, path: string, block?: string): ParsedConfig {
  const out: ParsedConfig = { settings: [], includes: [], skipped: [] };
  let current = block;
  splitLines(text).forEach((raw, i) => {
    const t = tokenize(raw);
    if (t === undefined) return;
    if (typeof t === "string") {
      out.skipped.push({ path, line: i + 1, reason: `${t} (sshd refuses to start with this line)` } satisfies Skip);
      return;
    }
    const key = t.keyword.toLowerCase();
    if (key === "match") {
      current = `Match ${t.args.join(" ")}`;
      out.firstBlockLine ??= i + 1;
      return;
    }
    if (key === "include") {
      out.includes.push({ line: i + 1, patterns: t.args.map(includePath), ...(current !== undefined ? { block: current } : {}) });
      return;
    }
    const setting: ConfigSetting = { key, written: t.keyword, value: t.args.join(" "), line: i + 1, valueStart: t.valueStart, valueEnd: t.valueEnd };
    if (current !== undefined) setting.block = current;
    out.settings.push(setting);
  });
  return out;
}

/** An `Include` argument as a path: relative ones are relative to /etc/ssh. */
export function includePath(pattern: string): string {
  return pattern.startsWith("/") ? pattern : `${sshdDirectory}/${pattern}`;
}

/** A line setting `key` to `value`, as a repair adds it. */
export function render(key: string, value: string): string {
  return `${key} ${value}`;
}
