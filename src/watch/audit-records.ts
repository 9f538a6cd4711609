// The Linux audit subsystem's records, as auditd writes them to its log: one line a record,
// `type=SYSCALL msg=audit(1733437358.123:456): field=value ...`, the records of one event sharing
// the time and serial in `msg=audit(TIME:SERIAL)`. In the ENRICHED format (Debian's default) a
// record's raw fields are followed by the byte 0x1d and auditd's interpretation of them
// (`SYSCALL=openat UID="root"`).
//
// Strings a process controls (file names, the command, the executable, the working directory,
// the command line) are written by the kernel either in double quotes, when they hold nothing
// but printable ASCII other than the quote and the space, or as bare hexadecimal of their bytes:
// a file named `x" pid=1` cannot forge a field. `(null)` is no value. Decoding is pure, never
// throws, and keeps only the records a change to a file is made of: SYSCALL, CWD, PATH and
// PROCTITLE.

export interface AuditPathItem {
  item: number;
  /** the name as the syscall gave it, relative to the working directory or a directory descriptor when it does not begin with / */
  name?: string;
  /** the inode number in decimal, every digit (a double rounds it above 2^53: overlayfs with xino gives numbers from 2^63 up) */
  inode?: string;
  /** device as `major:minor` in decimal */
  dev?: string;
  /** NORMAL, PARENT, CREATE, DELETE, UNKNOWN */
  nametype?: string;
}

export interface AuditEvent {
  /** the event's time, ms since the epoch (the kernel's, to the millisecond) */
  timeMs: number;
  serial: number;
  /** the SYSCALL record's fields, decoded; absent when the event had no SYSCALL record (yet) */
  syscall?: Record<string, string>;
  /** auditd's interpretation of the SYSCALL record (ENRICHED format): SYSCALL=openat, ... */
  interpreted?: Record<string, string>;
  cwd?: string;
  paths: AuditPathItem[];
  /** the command line (PROCTITLE), its arguments; set by the process itself */
  argv?: string[];
}

export interface AuditRecord {
  type: string;
  timeMs: number;
  serial: number;
  fields: Record<string, string>;
  interpreted: Record<string, string>;
}

/** Fields whose value a process controls: written quoted, or as hex of their bytes. */
const UNTRUSTED = new Set(["name", "cwd", "comm", "exe", "proctitle", "key", "path", "dir"]);
const KEPT = new Set(["SYSCALL", "CWD", "PATH", "PROCTITLE"]);
// auditd set to name its node (name_format = hostname, fqd, numeric or user, common in fleets)
// writes `node=NAME ` before each record: read past it, or no record of such a host would be read
const HEADER = /^(?:node=\S+ )?type=([A-Z_0-9]+) msg=audit\((\d{1,12})\.(\d{3}):(\d{1,20})\):\s?/;

/** `key=value` pairs; a value may be `"..."` or `'...'` (kept with its quotes for decodeValue). */
export function splitFields(text: string): [string, string][] {
  const out: [string, string][] = [];
  const re = /([A-Za-z_][\w-]*)=("[^"]*"|'[^']*'|\S*)/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push([m[1]!, m[2]!]);
  return out;
}

/** Bytes of a hex string as UTF-8 text, or undefined when it is not whole hex. */
export function fromHex(hex: string): Buffer | undefined {
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9A-Fa-f]+$/.test(hex)) return undefined;
  return Buffer.from(hex, "hex");
}

/** A field's value: quotes removed; for a string a process controls, unquoted hex decoded; `(null)` none. */
export function decodeValue(field: string, raw: string): string | undefined {
  if (raw === "(null)" || raw === "") return undefined;
  if ((raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2) || (raw.startsWith("'") && raw.endsWith("'") && raw.length >= 2)) return raw.slice(1, -1);
  if (UNTRUSTED.has(field)) {
    const bytes = fromHex(raw);
    return bytes ? bytes.toString("utf8") : raw;
  }
  return raw;
}

/** One log line as a record, or undefined when it is not one (or not a kind kept here). */
export function parseRecord(line: string): AuditRecord | undefined {
  const h = HEADER.exec(line);
  if (!h || !KEPT.has(h[1]!)) return undefined;
  const rest = line.slice(h[0].length);
  const gs = rest.indexOf("\x1d");
  const raw = gs < 0 ? rest : rest.slice(0, gs);
  const fields: Record<string, string> = {};
  for (const [k, v] of splitFields(raw)) {
    if (k === "proctitle") {
      // kept raw: its NUL-separated arguments are split by the caller
      fields[k] = v;
      continue;
    }
    const value = decodeValue(k, v);
    if (value !== undefined && !(k in fields)) fields[k] = value;
  }
  const interpreted: Record<string, string> = {};
  if (gs >= 0) for (const [k, v] of splitFields(rest.slice(gs + 1))) interpreted[k] ??= v.replace(/^"(.*)"$/s, "$1");
  const serial = Number(h[4]);
  if (!Number.isSafeInteger(serial)) return undefined;
  return { type: h[1]!, timeMs: Number(h[2]) * 1000 + Number(h[3]), serial, fields, interpreted };
}

/** The arguments of a PROCTITLE value: hex of NUL-separated arguments, or one quoted argument. */
export function proctitleArgv(raw: string): string[] {
  if (raw.startsWith('"')) return [raw.replace(/^"(.*)"$/s, "$1")];
  const bytes = fromHex(raw);
  if (!bytes) return [raw];
  const args = bytes.toString("utf8").split("\0");
  if (args.at(-1) === "") args.pop();
  return args;
}

function pathItem(f: Record<string, string>): AuditPathItem {
  const p: AuditPathItem = { item: /^\d+$/.test(f["item"] ?? "") ? Number(f["item"]) : -1 };
  if (f["name"] !== undefined) p.name = f["name"];
  const inode = /^\d{1,20}$/.test(f["inode"] ?? "") ? BigInt(f["inode"]!) : undefined;
  // as the kernel prints it, leading zeros aside, to compare with a FileIdentity's text
  if (inode !== undefined && inode < 2n ** 64n) p.inode = inode.toString();
  const dev = /^([0-9a-f]+):([0-9a-f]+)$/i.exec(f["dev"] ?? "");
  if (dev) p.dev = `${parseInt(dev[1]!, 16)}:${parseInt(dev[2]!, 16)}`;
  if (f["nametype"] !== undefined) p.nametype = f["nametype"];
  return p;
}

/** Adds a record to the event it belongs to (by time and serial) in `events`, creating it. */
export function addRecord(events: Map<string, AuditEvent>, r: AuditRecord): void {
  const id = `${r.timeMs}:${r.serial}`;
  let e = events.get(id);
  if (!e) {
    e = { timeMs: r.timeMs, serial: r.serial, paths: [] };
    events.set(id, e);
  }
  if (r.type === "SYSCALL") {
    e.syscall = r.fields;
    if (Object.keys(r.interpreted).length > 0) e.interpreted = r.interpreted;
  } else if (r.type === "CWD" && r.fields["cwd"] !== undefined) e.cwd = r.fields["cwd"];
  else if (r.type === "PATH") {
    e.paths.push(pathItem(r.fields));
    e.paths.sort((a, b) => a.item - b.item);
  } else if (r.type === "PROCTITLE" && r.fields["proctitle"] !== undefined) e.argv = proctitleArgv(r.fields["proctitle"]);
}

/** The events of a log's text, in the order their first record came. Lines that are not records kept here are passed over. */
export function parseEvents(text: string): AuditEvent[] {
  const events = new Map<string, AuditEvent>();
  for (const line of text.split("\n")) {
    const r = parseRecord(line);
    if (r) addRecord(events, r);
  }
  return [...events.values()];
}
