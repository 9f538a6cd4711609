// `key <separator> value` lines with a comment marker, for files of no more specific format
// (/etc/default/*, /etc/security/pwquality.conf, /etc/audit/auditd.conf, profile.d's `umask`
// aside). The separator is a string (a space: any run of blanks); a line whose first non-blank
// text is the comment marker is a comment. Values are taken as written, without surrounding
// blanks; quotes are kept. The sysctl.d(5) format is this with `=`, `#` and `;`, and its own
// reading of keys and values (./sysctl.ts).
import { contentEnd, splitLines, type ParsedConfig } from "./setting.js";

export interface KeyValueOptions {
  /** " ": any run of blanks */
  separator: string;
  /** markers that start a comment line */
  comments: string[];
  /** the key as compared (sysctl: dotted) */
  key?: (written: string) => string;
  /** the value as compared */
  value?: (written: string) => string;
  /** the part of the key as written that is not the key (sysctl's leading `-`) */
  keyPrefix?: RegExp;
}

const blank = (c: string | undefined) => c === " " || c === "\t";

export function parse(text: string, path: string, options: KeyValueOptions): ParsedConfig {
  const out: ParsedConfig = { settings: [], includes: [], skipped: [] };
  splitLines(text).forEach((raw, i) => {
    const end = contentEnd(raw);
    let p = 0;
    while (p < end && blank(raw[p])) p++;
    if (p >= end || options.comments.some((c) => c !== "" && raw.startsWith(c, p))) return;
    const sep = findSeparator(raw, p, end, options.separator);
    if (!sep) {
      out.skipped.push({ path, line: i + 1, reason: `no separator (${JSON.stringify(options.separator)})` });
      return;
    }
    let written = raw.slice(p, sep.at).trimEnd();
    if (options.keyPrefix) written = written.replace(options.keyPrefix, "");
    const key = options.key ? options.key(written) : written;
    if (key === "") {
      out.skipped.push({ path, line: i + 1, reason: "no key before the separator" });
      return;
    }
    let v = sep.after;
    while (v < end && blank(raw[v])) v++;
    const value = raw.slice(v, end);
    out.settings.push({ key, written, value: options.value ? options.value(value) : value, line: i + 1, valueStart: v, valueEnd: end });
  });
  return out;
}

function findSeparator(line: string, from: number, end: number, separator: string): { at: number; after: number } | undefined {
  if (separator === " ") {
    let p = from;
    while (p < end && !blank(line[p])) p++;
    if (p >= end) return undefined;
    return { at: p, after: p };
  }
  const at = line.indexOf(separator, from);
  if (at < 0 || at >= end) return undefined;
  return { at, after: at + separator.length };
}

export function render(key: string, value: string, separator: string): string {
  return separator === " " ? `${key} ${value}` : `${key}${separator === "=" ? " = " : separator}${value}`;
}
