// Reading a systemd unit file as systemd does, for the tests of examples/systemd/: its sections
// and settings, and a command line (ExecStart= and the like) split into the argv systemd would
// execute, so that a test runs exactly what the unit says.
export type Unit = Map<string, Map<string, string[]>>;

/** A unit file's sections and their settings (a key may repeat; comments and blank lines skipped). */
export function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = new Map();
      unit.set(header[1]!, section);
      continue;
    }
    const setting = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!setting || !section) throw new Error(`not a unit file line: ${raw}`);
    section.set(setting[1]!, [...(section.get(setting[1]!) ?? []), setting[2]!]);
  }
  return unit;
}

/**
 * A command line as systemd splits it (systemd.service(5), "Command lines"): words separated by
 * spaces, a word in single or double quotes taken whole. `$NAME` words are replaced from `env`
 * as systemd replaces them with the unit's variables ($MAINPID). This project's units use no
 * prefix (`-`, `@`, `+`, `!`), no backslash and no `${NAME}`: one is refused, not guessed at.
 */
export function splitCommandLine(line: string, env: Record<string, string> = {}): string[] {
  if (/^[-@+!:]/.test(line) || line.includes("\\") || line.includes("${")) throw new Error(`a command line this reader does not handle: ${line}`);
  const argv: string[] = [];
  const word = /\s*(?:'([^']*)'|"([^"]*)"|(\S+))/gy;
  let m: RegExpExecArray | null;
  while (word.lastIndex < line.length && (m = word.exec(line)) !== null) {
    if (m[3] !== undefined && /['"]/.test(m[3])) throw new Error(`a quote inside a word: ${m[3]}`);
    const w = m[1] ?? m[2] ?? m[3]!;
    if (m[3] !== undefined && w.startsWith("$")) {
      const value = env[w.slice(1)];
      if (value === undefined) throw new Error(`no value for ${w} in ${line}`);
      argv.push(value);
    } else argv.push(w);
    if (line.slice(word.lastIndex).trim() === "") break;
  }
  return argv;
}

/** systemd's time spans as this project writes them: 30s, 4m, 5min, 2h. */
export function seconds(span: string): number {
  const m = /^(\d+)\s*(s|sec|m|min|h)$/.exec(span);
  if (!m) throw new Error(`unexpected time span ${span}`);
  return Number(m[1]) * { s: 1, sec: 1, m: 60, min: 60, h: 3600 }[m[2] as "s"];
}
