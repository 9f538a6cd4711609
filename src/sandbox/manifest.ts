// `sandbox.json`, read and checked: every problem is reported at once, each under the name of
// the file it is in. A manifest may `extend` a base manifest (a whole host), saying only how it
// differs: keys merged over the base's, `null` deleting a base's key, `remove` dropping its files.
import { dirname, posix, resolve } from "node:path";
import { readPolicyFile } from "../checker/policy-file.js";
import { modeText, refusalOf, runningAsRoot } from "../trust/strict-modes.js";
import { parseSandboxAccounts, type SandboxAccount } from "./accounts.js";
import { checkCommands, checkFacts, mergeCommands, mergeFacts, type SandboxCommand, type SandboxFacts } from "./extras.js";
import {
  checkedMap,
  checkMergedProc,
  checkOsRelease,
  checkPackageDatabase,
  checkPackages,
  checkProc,
  checkServices,
  type BaseKeys,
  type ProcLayer,
  type SandboxManifestHost,
  type SandboxPackage,
  type SandboxUnit,
} from "./host.js";

export interface SandboxDirectory {
  path: string;
  mode: string;
  owner?: string;
  group?: string;
}
export interface SandboxFile extends SandboxDirectory {
  content: string;
  age_hours?: number;
}

export interface SandboxManifest extends SandboxManifestHost {
  description?: string;
  /** user names the policy refers to */
  users: string[];
  /** group name → member user names */
  groups: Record<string, string[]>;
  directories: SandboxDirectory[];
  files: SandboxFile[];
  /** users with the uid, shell, home, password state and aging `account` promises judge (accounts.ts) */
  accounts?: Record<string, SandboxAccount>;
  /** the host's facts and the instant the calendar is judged at (extras.ts) */
  facts?: SandboxFacts;
  /** recorded answers of the programs `command` promises run */
  commands?: SandboxCommand[];
}

export class SandboxError extends Error {}

/** One file's keys, checked: what it adds to (or takes from) its base. */
interface Layer {
  description?: string;
  users?: string[];
  groups?: Record<string, string[] | null>;
  accounts?: Record<string, SandboxAccount | null>;
  directories?: SandboxDirectory[];
  files?: SandboxFile[];
  remove: string[];
  os_release?: Record<string, string | null>;
  packages?: Record<string, SandboxPackage | null>;
  package_database?: SandboxManifest["package_database"];
  services?: Record<string, SandboxUnit | null>;
  proc?: ProcLayer;
  facts?: Record<string, unknown>;
  commands?: SandboxCommand[];
}

const KEYS = ["description", "extends", "remove", "users", "groups", "accounts", "directories", "files", "os_release", "packages", "package_database", "services", "proc", "facts", "commands"];
/** How many `extends` may follow one another: a failing variant of a host of a family is three files. */
export const MAX_EXTENDS = 4;
const NAME = /^[a-z_][a-z0-9_.-]{0,31}\$?$/i;
const MODE = /^0?[0-7]{3,4}$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The manifest, checked and merged over its bases: every problem of every file is reported at
 * once. Paths are absolute, normalised and may never leave the sandbox (no `..` component, no
 * NUL); account names are plain names (a `:` or a newline would forge lines of the sandbox's
 * passwd and group files); modes are octal. `where` names the file; a base named by `extends` is
 * found relative to its directory.
 */
export function parseManifest(text: string, where: string): SandboxManifest {
  const r = parseChain(text, where, []);
  if (r.manifest === undefined) throw new SandboxError(`${r.blocks.join("\n")}\n(see docs/sandbox.md)`);
  return r.manifest;
}

/** The manifest of one file over its bases, or the problems of each file, a block per file. */
function parseChain(text: string, where: string, chain: string[]): { manifest?: SandboxManifest; blocks: string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    // JSON.parse's message quotes the text around the error: never shown, since `extends` and
    // --sandbox-manifest may name any file the caller can read (a key, a password file)
    return { blocks: [`${where}: not valid JSON${jsonErrorPlace(text, err as Error)}`] };
  }
  const problems: string[] = [];
  const m = isObject(raw) ? raw : {};
  if (m !== raw) problems.push("the manifest must be a JSON object");
  for (const k of Object.keys(m)) if (!KEYS.includes(k)) problems.push(`\`${k}\` is not a key of a sandbox.json (${KEYS.join(", ")})`);
  const blocks: string[] = [];
  let base: SandboxManifest | undefined;
  if (m["extends"] !== undefined) {
    const b = readBase(m["extends"], where, chain, problems);
    blocks.push(...b.blocks);
    base = b.manifest;
  }
  // a base that could not be read leaves `null` and `remove` unjudged, rather than judged wrongly
  const baseState = base !== undefined ? "known" : m["extends"] !== undefined ? "unknown" : "none";
  const layer = checkLayer(m, base, baseState, problems);
  const manifest = problems.length === 0 && blocks.length === 0 ? merge(base, layer) : undefined;
  if (manifest?.proc) checkMergedProc(manifest.proc, problems);
  if (problems.length > 0) blocks.push(`${where}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  return blocks.length > 0 ? { blocks } : { manifest: manifest!, blocks };
}

/** The base manifest `extends` names, relative to this one's directory and read as this one is. */
function readBase(ext: unknown, where: string, chain: string[], problems: string[]): { manifest?: SandboxManifest; blocks: string[] } {
  if (typeof ext !== "string" || ext === "" || ext.includes("\0")) {
    problems.push("`extends` must be the path of a base manifest, relative to this one's directory");
    return { blocks: [] };
  }
  const names = [...chain, resolve(where)];
  const path = resolve(dirname(resolve(where)), ext);
  if (names.includes(path)) {
    problems.push(`\`extends\` makes a cycle: ${[...names.slice(names.indexOf(path)), path].join(" -> ")}`);
    return { blocks: [] };
  }
  if (names.length > MAX_EXTENDS) {
    problems.push(`\`extends\` may follow at most ${MAX_EXTENDS} bases: ${[...names, path].join(" -> ")}`);
    return { blocks: [] };
  }
  let text: string;
  try {
    text = readManifest(path);
  } catch (err) {
    if (!(err instanceof SandboxError)) throw err;
    problems.push(`\`extends\`: ${err.message}`);
    return { blocks: [] };
  }
  return parseChain(text, path, names);
}

function checkLayer(m: Record<string, unknown>, base: SandboxManifest | undefined, baseState: "known" | "unknown" | "none", problems: string[]): Layer {
  const keysOf = <T>(section: T | undefined): BaseKeys => (baseState === "known" ? ((section ?? {}) as Record<string, unknown>) : baseState);
  const list = (key: string): unknown[] | undefined => {
    const v = m[key];
    if (v === undefined || Array.isArray(v)) return v;
    problems.push(`\`${key}\` must be a list`);
    return [];
  };
  const layer: Layer = { remove: [] };
  if (m["description"] !== undefined) {
    if (typeof m["description"] === "string") layer.description = m["description"];
    else problems.push("`description` must be a string");
  }
  const users = list("users");
  if (users) layer.users = users.filter((u, i) => checkName(u, `users[${i}]`, problems)) as string[];
  const groups = checkedMap(m["groups"], "groups", problems, keysOf(base?.groups), (members, at, g) => {
    if (!checkName(g, `group \`${g}\``, problems)) return undefined;
    if (Array.isArray(members)) return members.filter((u, i) => checkName(u, `${at}[${i}]`, problems)) as string[];
    problems.push(`the members of group \`${g}\` must be a list`);
    return undefined;
  });
  if (groups) layer.groups = groups;
  const accounts = checkedMap(m["accounts"], "accounts", problems, keysOf(base?.accounts), (v, _at, name) => parseSandboxAccounts({ [name]: v }, (n) => NAME.test(n), problems)[name]);
  if (accounts) layer.accounts = accounts;
  for (const kind of ["directories", "files"] as const) {
    const entries = list(kind);
    if (entries) layer[kind] = entries.map((e, i) => checkEntry(kind, e, i, problems)).filter((e) => e !== undefined) as SandboxFile[];
  }
  const remove = list("remove") ?? [];
  if (remove.length > 0 && baseState === "none") problems.push("`remove` drops files and directories of the base manifest, but this manifest extends none");
  remove.forEach((r, i) => {
    const path = sandboxPath(r, `remove[${i}]`, problems);
    if (path === undefined) return;
    const named = [...(base?.files ?? []), ...(base?.directories ?? [])].some((e) => within(e.path, path));
    if (baseState === "known" && !named) problems.push(`remove[${i}]: the base has no file or directory at or below ${path}`);
    layer.remove.push(path);
  });
  const os = checkOsRelease(m["os_release"], problems, keysOf(base?.os_release));
  if (os) layer.os_release = os;
  const database = checkPackageDatabase(m["package_database"], problems);
  if (database) layer.package_database = database;
  const packages = checkPackages(m["packages"], database ?? base?.package_database ?? "dpkg", problems, keysOf(base?.packages));
  if (packages) layer.packages = packages;
  const services = checkServices(m["services"], problems, keysOf(base?.services));
  if (services) layer.services = services;
  const proc = checkProc(m["proc"], problems, keysOf(base?.proc?.sysctl), (v, at) => sandboxPath(v, at, problems, ""));
  if (proc) layer.proc = proc;
  const facts = checkFacts(m["facts"], problems, baseState !== "none");
  if (facts) layer.facts = facts;
  const commands = checkCommands(m["commands"], problems);
  if (commands) layer.commands = commands;
  return layer;
}

const within = (path: string, top: string) => path === top || path.startsWith(`${top}/`);

function checkEntry(kind: "directories" | "files", e: unknown, i: number, problems: string[]): SandboxFile | SandboxDirectory | undefined {
  const at = `${kind}[${i}]`;
  if (!isObject(e)) {
    problems.push(`${at} must be an object`);
    return undefined;
  }
  const path = sandboxPath(e["path"], at, problems);
  if (typeof e["mode"] !== "string" || !MODE.test(e["mode"])) problems.push(`${at}.mode must be an octal mode in a string, such as "0640"`);
  for (const k of ["owner", "group"] as const) if (e[k] !== undefined) checkName(e[k], `${at}.${k}`, problems);
  if (kind === "files" && typeof e["content"] !== "string") problems.push(`${at}.content must be a string`);
  if (e["age_hours"] !== undefined && !(typeof e["age_hours"] === "number" && e["age_hours"] >= 0 && Number.isFinite(e["age_hours"]))) problems.push(`${at}.age_hours must be a number of hours, 0 or more`);
  return path === undefined ? undefined : ({ ...e, path } as unknown as SandboxFile);
}

function checkName(v: unknown, at: string, problems: string[]): boolean {
  if (typeof v === "string" && NAME.test(v)) return true;
  problems.push(`${at} must be an account name such as \`ledger\` (letters, digits, \`_\`, \`.\`, \`-\`), got ${JSON.stringify(v)}`);
  return false;
}

/** An absolute path inside the sandbox, normalised; undefined (with the problem noted) otherwise. */
export function sandboxPath(v: unknown, at: string, problems: string[], field = ".path"): string | undefined {
  if (typeof v !== "string" || !v.startsWith("/") || v.includes("\0")) {
    problems.push(`${at}${field} must be an absolute path such as "/srv/ledger", got ${JSON.stringify(v)}`);
    return undefined;
  }
  if (v.split("/").includes("..")) {
    problems.push(`${at}${field} ${JSON.stringify(v)} has a \`..\` component: sandbox paths may not leave the sandbox`);
    return undefined;
  }
  const normal = posix.normalize(v).replace(/\/+$/, "");
  if (normal === "" || normal === "/") {
    problems.push(`${at}${field} names the sandbox's root itself`);
    return undefined;
  }
  return normal;
}

/** A base's object-valued key with a layer's over it: `null` deletes. */
function mergeMap<T>(base: Record<string, T> | undefined, over: Record<string, T | null> | undefined): Record<string, T> | undefined {
  if (over === undefined) return base;
  const out = Object.assign(Object.create(null) as Record<string, T>, base);
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** A base's list with a layer's over it, entries matched by `key`: a later one replaces an earlier one in place. */
function mergeBy<T, K extends keyof T>(base: T[], over: T[] | undefined, key: K): T[] {
  const out = [...base];
  for (const e of over ?? []) {
    const i = out.findIndex((b) => b[key] === e[key]);
    if (i >= 0) out[i] = e;
    else out.push(e);
  }
  return out;
}

function merge(base: SandboxManifest | undefined, layer: Layer): SandboxManifest {
  const kept = <T extends { path: string }>(entries: T[]) => entries.filter((e) => !layer.remove.some((r) => within(e.path, r)));
  const out: SandboxManifest = {
    users: [...(base?.users ?? []), ...(layer.users ?? []).filter((u) => !base?.users.includes(u))].filter((u, i, all) => all.indexOf(u) === i),
    groups: mergeMap(base?.groups, layer.groups) ?? {},
    directories: mergeBy(kept(base?.directories ?? []), layer.directories, "path"),
    files: mergeBy(kept(base?.files ?? []), layer.files, "path"),
  };
  const description = layer.description ?? base?.description;
  if (description !== undefined) out.description = description;
  const set = <K extends "accounts" | "os_release" | "packages" | "services">(k: K, v: SandboxManifest[K] | undefined) => {
    if (v !== undefined && (k !== "accounts" || Object.keys(v).length > 0)) out[k] = v;
  };
  set("accounts", mergeMap(base?.accounts, layer.accounts));
  set("os_release", mergeMap(base?.os_release, layer.os_release));
  set("packages", mergeMap(base?.packages, layer.packages));
  set("services", mergeMap(base?.services, layer.services));
  const facts = mergeFacts(base?.facts, layer.facts);
  if (facts !== undefined) out.facts = facts;
  const commands = mergeCommands(base?.commands, layer.commands);
  if (commands !== undefined) out.commands = commands;
  const database = layer.package_database ?? base?.package_database;
  if (database !== undefined) out.package_database = database;
  if (base?.proc !== undefined || layer.proc !== undefined) {
    const b = base?.proc;
    const p = layer.proc;
    out.proc = { sysctl: mergeMap(b?.sysctl, p?.sysctl) ?? {}, modules: p?.modules ?? b?.modules ?? [], mounts: mergeBy(b?.mounts ?? [], p?.mounts, "target") };
    const cmdline = p?.cmdline ?? b?.cmdline;
    if (cmdline !== undefined) out.proc.cmdline = cmdline;
  }
  return out;
}

/** The largest manifest read: a list of a few files and accounts is a few KiB. */
const MAX_MANIFEST_SIZE = 1024 * 1024;

/**
 * The manifest's text, read as a policy file is (no link followed, never a FIFO or device, at
 * most 1 MiB, UTF-8). As root, it is trusted as the policy is: its directory is the policy's,
 * which root has judged by then, and the file itself must be root's and closed to others, since
 * it decides which files and accounts root creates. Bases are read the same way.
 */
export function readManifest(manifestPath: string): string {
  const read = readPolicyFile(manifestPath, MAX_MANIFEST_SIZE, undefined, false);
  if (!read.ok) throw new SandboxError(`${manifestPath} ${read.problem}`);
  if (runningAsRoot()) {
    const why = refusalOf(read.st, false);
    if (why === "owner") throw new SandboxError(`${manifestPath} is owned by uid ${read.st.uid}, not root: as root, Covenant uses only a sandbox.json no other user can change; fix: read it through, then \`chown root:root ${manifestPath} && chmod go-w ${manifestPath}\``);
    if (why === "writable") throw new SandboxError(`${manifestPath} is writable by others (mode ${modeText(read.st)}): as root, Covenant uses only a sandbox.json no other user can change; fix: read it through, then \`chmod go-w ${manifestPath}\``);
  }
  return read.text;
}

/** ` (line L, column C)` where the parser says at which offset it stopped (newer Nodes do), else nothing. */
function jsonErrorPlace(text: string, err: Error): string {
  const at = /at position (\d+)/.exec(err.message);
  if (!at) return "";
  const offset = Math.min(Number(at[1]), text.length);
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - before.lastIndexOf("\n");
  return ` (line ${line}, column ${column})`;
}
