// login.defs(5) as shadow-utils reads it (getdef.c): a name, then white space, then the value up
// to the end of the line, without the double quotes around it; `#` starts a comment line. Every
// line is read in turn and a later one replaces an earlier: the last setting of a name wins.
import { contentEnd, splitLines, type ConfigSetting, type ParsedConfig } from "./setting.js";

const blank = (c: string | undefined) => c === " " || c === "\t";

export function parse(text: string): ParsedConfig {
  const settings: ConfigSetting[] = [];
  splitLines(text).forEach((raw, i) => {
    const end = contentEnd(raw);
    let p = 0;
    while (p < end && blank(raw[p])) p++;
    if (p >= end || raw[p] === "#") return;
    const nameStart = p;
    while (p < end && !blank(raw[p]) && raw[p] !== '"') p++;
    const name = raw.slice(nameStart, p);
    // getdef skips one separator, then blanks and quotes; the value ends at the next quote
    const bare = p >= end;
    if (p < end) p++;
    while (p < end && (blank(raw[p]) || raw[p] === '"')) p++;
    const quote = raw.indexOf('"', p);
    const valueEnd = quote >= 0 && quote < end ? quote : end;
    const setting: ConfigSetting = { key: name, written: name, value: raw.slice(p, valueEnd), line: i + 1, valueStart: p, valueEnd };
    if (bare) setting.separatorMissing = "\t";
    settings.push(setting);
  });
  return { settings, includes: [], skipped: [] };
}

export function render(key: string, value: string): string {
  return `${key}\t${value}`;
}
