// INI files: `[section]` headers, `key = value` lines, `#` and `;` comment lines (as systemd
// units, PHP, Samba and Python's configparser agree on them); a key before any header is in the
// section "". The key a setting is judged by is its section and name (`iniKey`); values are
// taken as written, without surrounding blanks; the last setting of a key in a section wins.
import * as keyValue from "./key_value.js";
import { contentEnd, splitLines, type ParsedConfig } from "./setting.js";

/** The key of `name` in `section`, as the setting's key. */
export function iniKey(section: string, name: string): string {
  return `[${section}]${name}`;
}

export function parse(text: string, path: string): ParsedConfig {
  const out: ParsedConfig = { settings: [], includes: [], skipped: [], sections: {} };
  let section = "";
  let lastLine = 0;
  const sections = out.sections!;
  splitLines(text).forEach((raw, i) => {
    const line = raw.slice(0, contentEnd(raw)).trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) return;
    const header = /^\[([^\]]*)\]$/.exec(line);
    if (header) {
      section = header[1]!.trim();
      lastLine = i + 1;
      sections[section] ??= lastLine + 1;
      return;
    }
    const one = keyValue.parse(raw, path, { separator: "=", comments: ["#", ";"] });
    for (const sk of one.skipped) out.skipped.push({ ...sk, line: i + 1 });
    for (const s of one.settings) out.settings.push({ ...s, key: iniKey(section, s.written), line: i + 1 });
    lastLine = i + 1;
    // a setting added to the section goes after its last line
    sections[section] = lastLine + 1;
  });
  return out;
}

export function render(name: string, value: string): string {
  return `${name} = ${value}`;
}
