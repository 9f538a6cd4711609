// The sandbox: runs a policy against a temporary directory of ledger-like files (described by
// a `sandbox.json` beside the policy) and the machine's own /proc, with no root needed. Paths
// named in the policy are read below the sandbox; accounts come from its own passwd and group;
// the change gate changes nothing outside it.
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { readPolicyFile } from "../checker/policy-file.js";
import { parseSandboxAccounts, writeSandboxAccounts, type SandboxAccount } from "./sandbox-accounts.js";
import { modeText, refusalOf, runningAsRoot } from "../trust/strict-modes.js";
import { tmpdir } from "node:os";
import { dirname, join, posix, resolve } from "node:path";

export interface SandboxManifest {
  description?: string;
  /** user names the policy refers to */
  users: string[];
  /** group name → member user names */
  groups: Record<string, string[]>;
  directories: { path: string; mode: string; owner?: string; group?: string }[];
  files: { path: string; mode: string; owner?: string; group?: string; content: string; age_hours?: number }[];
  /** users with the uid, shell, home, password state and aging `account` promises judge (sandbox-accounts.ts) */
  accounts?: Record<string, SandboxAccount>;
}

export interface Sandbox {
  dir: string;
  filesRoot: string;
  etcRoot: string;
  stateDir: string;
  created: boolean;
}

export class SandboxError extends Error {}

/**
 * A sandbox is reused only when it is the caller's own: in a shared temporary directory,
 * someone else could have prepared one with accounts and links of their choosing.
 */
function trustworthy(dir: string): void {
  const me = process.getuid?.() ?? 0;
  for (const p of [dir, join(dir, "root"), join(dir, "etc"), join(dir, "etc", "passwd"), join(dir, "etc", "group"), join(dir, ".covenant-sandbox")]) {
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st) throw new SandboxError(`${dir} is not a complete Covenant sandbox (${p} is missing); remove it or choose another with --sandbox-dir`);
    if (st.isSymbolicLink() || st.uid !== me) throw new SandboxError(`${p} is not owned by you or is a link; not using the sandbox ${dir}`);
  }
  if ((lstatSync(dir).mode & 0o077) !== 0) throw new SandboxError(`${dir} is open to other users; not using it as a sandbox`);
}

export function defaultSandboxDir(): string {
  return join(tmpdir(), `covenant-sandbox-${process.getuid?.() ?? 0}`);
}

export function findManifest(paths: string[]): string | undefined {
  for (const p of paths.length > 0 ? paths : ["."]) {
    const abs = resolve(p);
    const dir = existsSync(abs) && statSync(abs).isDirectory() ? abs : dirname(abs);
    const candidate = join(dir, "sandbox.json");
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

const NAME = /^[a-z_][a-z0-9_.-]{0,31}\$?$/i;
const MODE = /^0?[0-7]{3,4}$/;

/**
 * The manifest, checked: every problem is reported at once. Paths are absolute, normalised and
 * may never leave the sandbox (no `..` component, no NUL); account names are plain names (a `:`
 * or a newline would forge lines of the sandbox's passwd and group files); modes are octal.
 */
export function parseManifest(text: string, where: string): SandboxManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SandboxError(`${where}: not valid JSON: ${(err as Error).message}`);
  }
  const problems: string[] = [];
  const m = (typeof raw === "object" && raw !== null && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
  if (m !== raw) problems.push("the manifest must be a JSON object");
  const list = (key: string): unknown[] => {
    const v = m[key] ?? [];
    if (Array.isArray(v)) return v;
    problems.push(`\`${key}\` must be a list`);
    return [];
  };
  const users = list("users").filter((u, i) => checkName(u, `users[${i}]`, problems)) as string[];
  const groupsRaw = m["groups"] ?? {};
  const groups: Record<string, string[]> = {};
  if (typeof groupsRaw !== "object" || groupsRaw === null || Array.isArray(groupsRaw)) problems.push("`groups` must map group names to lists of members");
  else
    for (const [g, members] of Object.entries(groupsRaw)) {
      if (!checkName(g, `group \`${g}\``, problems)) continue;
      if (!Array.isArray(members)) problems.push(`the members of group \`${g}\` must be a list`);
      else groups[g] = members.filter((u, i) => checkName(u, `groups.${g}[${i}]`, problems)) as string[];
    }
  const entry = (kind: "directories" | "files", e: unknown, i: number) => {
    const at = `${kind}[${i}]`;
    if (typeof e !== "object" || e === null) {
      problems.push(`${at} must be an object`);
      return undefined;
    }
    const o = e as Record<string, unknown>;
    const path = sandboxPath(o["path"], at, problems);
    if (typeof o["mode"] !== "string" || !MODE.test(o["mode"])) problems.push(`${at}.mode must be an octal mode in a string, such as "0640"`);
    for (const k of ["owner", "group"] as const) if (o[k] !== undefined) checkName(o[k], `${at}.${k}`, problems);
    if (kind === "files" && typeof o["content"] !== "string") problems.push(`${at}.content must be a string`);
    if (o["age_hours"] !== undefined && !(typeof o["age_hours"] === "number" && o["age_hours"] >= 0 && Number.isFinite(o["age_hours"]))) problems.push(`${at}.age_hours must be a number of hours, 0 or more`);
    return path === undefined ? undefined : { ...o, path };
  };
  const directories = list("directories").map((e, i) => entry("directories", e, i));
  const files = list("files").map((e, i) => entry("files", e, i));
  const accounts = parseSandboxAccounts(m["accounts"], (v) => NAME.test(v), problems);
  if (problems.length > 0) throw new SandboxError(`${where}:\n${problems.map((p) => `  - ${p}`).join("\n")}\n(see docs/sandbox.md)`);
  const out: SandboxManifest = { users, groups, directories: directories as SandboxManifest["directories"], files: files as SandboxManifest["files"] };
  if (typeof m["description"] === "string") out.description = m["description"];
  if (Object.keys(accounts).length > 0) out.accounts = accounts;
  return out;
}

function checkName(v: unknown, at: string, problems: string[]): boolean {
  if (typeof v === "string" && NAME.test(v)) return true;
  problems.push(`${at} must be an account name such as \`ledger\` (letters, digits, \`_\`, \`.\`, \`-\`), got ${JSON.stringify(v)}`);
  return false;
}

/** An absolute path inside the sandbox, normalised; undefined (with the problem noted) otherwise. */
function sandboxPath(v: unknown, at: string, problems: string[]): string | undefined {
  if (typeof v !== "string" || !v.startsWith("/") || v.includes("\0")) {
    problems.push(`${at}.path must be an absolute path such as "/srv/ledger", got ${JSON.stringify(v)}`);
    return undefined;
  }
  if (v.split("/").includes("..")) {
    problems.push(`${at}.path ${JSON.stringify(v)} has a \`..\` component: sandbox paths may not leave the sandbox`);
    return undefined;
  }
  const normal = posix.normalize(v).replace(/\/+$/, "");
  if (normal === "" || normal === "/") {
    problems.push(`${at}.path names the sandbox's root itself`);
    return undefined;
  }
  return normal;
}

/** The largest manifest read: a list of a few files and accounts is a few KiB. */
const MAX_MANIFEST_SIZE = 1024 * 1024;

/**
 * The manifest's text, read as a policy file is (no link followed, never a FIFO or device, at
 * most 1 MiB, UTF-8). As root, it is trusted as the policy is: its directory is the policy's,
 * which root has judged by then, and the file itself must be root's and closed to others, since
 * it decides which files and accounts root creates.
 */
function readManifest(manifestPath: string): string {
  const read = readPolicyFile(manifestPath, MAX_MANIFEST_SIZE, undefined, false);
  if (!read.ok) throw new SandboxError(`${manifestPath} ${read.problem}`);
  if (runningAsRoot()) {
    const why = refusalOf(read.st, false);
    if (why === "owner") throw new SandboxError(`${manifestPath} is owned by uid ${read.st.uid}, not root: as root, Covenant uses only a sandbox.json no other user can change; fix: read it through, then \`chown root:root ${manifestPath} && chmod go-w ${manifestPath}\``);
    if (why === "writable") throw new SandboxError(`${manifestPath} is writable by others (mode ${modeText(read.st)}): as root, Covenant uses only a sandbox.json no other user can change; fix: read it through, then \`chmod go-w ${manifestPath}\``);
  }
  return read.text;
}

/** Creates the sandbox on first use; later runs reuse it, so that its history accumulates. */
export function prepareSandbox(paths: string[], dir = defaultSandboxDir()): Sandbox {
  const manifestPath = findManifest(paths);
  if (!manifestPath) throw new SandboxError("no sandbox.json beside the policy: a sandbox needs one to know which files to create (see docs/sandbox.md)");
  const manifest = parseManifest(readManifest(manifestPath), manifestPath);
  const sb: Sandbox = { dir, filesRoot: join(dir, "root"), etcRoot: join(dir, "etc"), stateDir: join(dir, "state"), created: false };
  if (existsSync(join(dir, ".covenant-sandbox"))) {
    trustworthy(dir);
    return sb;
  }
  if (existsSync(dir)) throw new SandboxError(`${dir} exists and is not a Covenant sandbox; choose another with --sandbox-dir`);
  let made = false;
  try {
    // created here, owner-only, failing if someone else created it first
    mkdirSync(dirname(dir), { recursive: true });
    mkdirSync(dir, { mode: 0o700 });
    made = true;
    chmodSync(dir, 0o700);
    populate(sb, manifest);
    writeFileSync(join(dir, ".covenant-sandbox"), `created ${new Date().toISOString()} from ${manifestPath}\n`);
  } catch (err) {
    // a half-made sandbox would be refused by the next run ("not a Covenant sandbox"): it goes
    if (made) rmSync(dir, { recursive: true, force: true });
    if (err instanceof SandboxError) throw err;
    throw new SandboxError(`cannot create the sandbox in ${dir} from ${manifestPath}: ${(err as Error).message}`);
  }
  sb.created = true;
  return sb;
}

/**
 * Accounts, directories and files of a new sandbox. As root, every account gets an id of its
 * own. As an ordinary user, who cannot give files away, every user maps to the caller's uid and
 * every group to the caller's gid, so that ownership holds by construction and modes are what
 * drift; users then get a primary gid that is none of the groups' (primary membership is not
 * simulated: otherwise every user would be a primary member of every group).
 */
function populate(sb: Sandbox, manifest: SandboxManifest): void {
  mkdirSync(sb.filesRoot, { recursive: true, mode: 0o700 });
  mkdirSync(sb.etcRoot, { recursive: true });
  const root = process.getuid?.() === 0;
  const myUid = process.getuid?.() ?? 0;
  const myGid = process.getgid?.() ?? 0;
  const noGroup = myGid === 65534 ? 65533 : 65534;
  const accounts = manifest.accounts ?? {};
  const names = [...manifest.users, ...Object.keys(accounts).filter((a) => !manifest.users.includes(a))];
  const uids = new Map<string, number>(names.map((u, i) => [u, !root ? myUid : (accounts[u]?.uid ?? (u === "root" ? 0 : 64000 + i))]));
  const gids = new Map<string, number>(Object.keys(manifest.groups).map((g, i) => [g, !root ? myGid : g === "root" ? 0 : 64000 + i]));
  const primaryGid = (u: string) => (root ? (gids.get(u) ?? noGroup) : noGroup);
  writeSandboxAccounts(sb.etcRoot, manifest.users, accounts, (u) => uids.get(u)!, primaryGid);
  writeFileSync(join(sb.etcRoot, "group"), Object.entries(manifest.groups).map(([g, members]) => `${g}:x:${gids.get(g)}:${members.join(",")}`).join("\n") + "\n");
  const own = (path: string, owner?: string, group?: string) => {
    if (root && (owner || group)) chownSync(path, uids.get(owner ?? "root") ?? 0, gids.get(group ?? "root") ?? 0);
  };
  for (const d of manifest.directories) {
    const p = join(sb.filesRoot, d.path);
    mkdirSync(p, { recursive: true });
    chmodSync(p, parseInt(d.mode, 8));
    own(p, d.owner, d.group);
  }
  const now = Date.now();
  for (const f of manifest.files) {
    const p = join(sb.filesRoot, f.path);
    mkdirSync(dirname(p), { recursive: true });
    // a new file only: never through a link, never over an entry the manifest made already
    writeFileSync(p, f.content, { flag: "wx" });
    chmodSync(p, parseInt(f.mode, 8));
    own(p, f.owner, f.group);
    if (f.age_hours !== undefined) {
      const t = new Date(now - f.age_hours * 3_600_000);
      utimesSync(p, t, t);
    }
  }
}
