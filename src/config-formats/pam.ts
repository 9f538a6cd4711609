// pam.d(5) files: `type control module-path arguments...`, `#` comments, `-type` (quiet when the
// module is missing), controls as a keyword or `[value=action ...]`. A line yields one setting
// keyed `TYPE MODULE` (the module's file name, any directory dropped) whose value is its
// control, and one keyed `TYPE MODULE ARGUMENT` per argument: `name=value` has the value, a bare
// `name` the value "true". Every line of a stack applies, so every one is judged. `@include FILE`
// (Debian) reads a file in place; `TYPE include FILE` and `TYPE substack FILE` read the lines of
// that type from it; relative names are in /etc/pam.d.
import { contentEnd, splitLines, type ConfigSetting, type ParsedConfig } from "./setting.js";

export const pamDirectory = "/etc/pam.d";

const types = new Set(["auth", "account", "password", "session"]);

const inDir = (name: string) => (name.startsWith("/") ? name : `${pamDirectory}/${name}`);

interface Token {
  text: string;
  start: number;
  end: number;
}

/** Blank-separated tokens to the end of the line or a `#`; a `[...]` control is one token. */
function tokens(line: string): Token[] {
  const end = contentEnd(line);
  const out: Token[] = [];
  let i = 0;
  while (i < end) {
    while (i < end && (line[i] === " " || line[i] === "\t")) i++;
    if (i >= end || line[i] === "#") break;
    const start = i;
    if (line[i] === "[") {
      const close = line.indexOf("]", i);
      i = close < 0 || close >= end ? end : close + 1;
    } else while (i < end && line[i] !== " " && line[i] !== "\t") i++;
    out.push({ text: line.slice(start, i), start, end: i });
  }
  return out;
}

export function parse(text: string, path: string): ParsedConfig {
  const out: ParsedConfig = { settings: [], includes: [], skipped: [] };
  splitLines(text).forEach((raw, i) => {
    const t = tokens(raw);
    if (t.length === 0) return;
    const line = i + 1;
    if (t[0]!.text === "@include") {
      if (t[1]) out.includes.push({ line, patterns: [inDir(t[1].text)] });
      return;
    }
    const type = t[0]!.text.replace(/^-/, "");
    if (!types.has(type) || t.length < 3) {
      out.skipped.push({ path, line, reason: "not `type control module [arguments]`" });
      return;
    }
    const control = t[1]!;
    if (control.text === "include" || control.text === "substack") {
      out.includes.push({ line, patterns: [inDir(t[2]!.text)], keyPrefix: `${type} ` });
      return;
    }
    const module = t[2]!.text.slice(t[2]!.text.lastIndexOf("/") + 1);
    const base = `${type} ${module}`;
    const settings: ConfigSetting[] = [{ key: base, written: base, value: control.text, line, valueStart: control.start, valueEnd: control.end }];
    for (const a of t.slice(3)) {
      const eq = a.text.indexOf("=");
      const name = eq < 0 ? a.text : a.text.slice(0, eq);
      const s: ConfigSetting = { key: `${base} ${name}`, written: name, value: eq < 0 ? "true" : a.text.slice(eq + 1), line, valueStart: eq < 0 ? a.start : a.start + eq + 1, valueEnd: a.end, part: { start: a.start, end: a.end } };
      if (eq < 0) s.entry = true;
      settings.push(s);
    }
    out.settings.push(...settings);
  });
  return out;
}

/** An argument as written: a bare name for "true", else `name=value`. */
export function renderArgument(name: string, value: string): string {
  return value === "true" ? name : `${name}=${value}`;
}
