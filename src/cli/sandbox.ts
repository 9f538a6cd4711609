// The sandbox: runs a policy against a temporary directory of ledger-like files (described by
// a `sandbox.json` beside the policy) and the machine's own /proc, with no root needed. Paths
// named in the policy are read below the sandbox; accounts come from its own passwd and group;
// the change gate changes nothing outside it.
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

export interface SandboxManifest {
  description?: string;
  /** user names the policy refers to */
  users: string[];
  /** group name → member user names */
  groups: Record<string, string[]>;
  directories: { path: string; mode: string; owner?: string; group?: string }[];
  files: { path: string; mode: string; owner?: string; group?: string; content: string; age_hours?: number }[];
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

/** Creates the sandbox on first use; later runs reuse it, so that its history accumulates. */
export function prepareSandbox(paths: string[], dir = defaultSandboxDir()): Sandbox {
  const manifestPath = findManifest(paths);
  if (!manifestPath) throw new SandboxError("no sandbox.json beside the policy: a sandbox needs one to know which files to create (see docs/evaluation.md, \"The sandbox\")");
  let manifest: SandboxManifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as SandboxManifest;
  } catch (err) {
    throw new SandboxError(`${manifestPath}: ${(err as Error).message}`);
  }
  const sb: Sandbox = { dir, filesRoot: join(dir, "root"), etcRoot: join(dir, "etc"), stateDir: join(dir, "state"), created: false };
  if (existsSync(join(dir, ".covenant-sandbox"))) {
    trustworthy(dir);
    return sb;
  }
  if (existsSync(dir)) throw new SandboxError(`${dir} exists and is not a Covenant sandbox; choose another with --sandbox-dir`);
  // created here, owner-only, failing if someone else created it first
  mkdirSync(dirname(dir), { recursive: true });
  mkdirSync(dir, { mode: 0o700 });
  chmodSync(dir, 0o700);
  mkdirSync(sb.filesRoot, { recursive: true, mode: 0o700 });
  mkdirSync(sb.etcRoot, { recursive: true });
  // As root, every account gets an id of its own; otherwise they all map to the caller, who
  // cannot give files away: ownership then holds by construction and perms are what drifts.
  const root = process.getuid?.() === 0;
  const myUid = process.getuid?.() ?? 0;
  const myGid = process.getgid?.() ?? 0;
  const uids = new Map<string, number>(manifest.users.map((u, i) => [u, !root ? myUid : u === "root" ? 0 : 64000 + i]));
  const gids = new Map<string, number>(Object.keys(manifest.groups).map((g, i) => [g, !root ? myGid : g === "root" ? 0 : 64000 + i]));
  writeFileSync(join(sb.etcRoot, "passwd"), manifest.users.map((u) => `${u}:x:${uids.get(u)}:${gids.get(u) ?? myGid}:${u}:/nonexistent:/usr/sbin/nologin`).join("\n") + "\n");
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
    writeFileSync(p, f.content);
    chmodSync(p, parseInt(f.mode, 8));
    own(p, f.owner, f.group);
    if (f.age_hours !== undefined) {
      const t = new Date(now - f.age_hours * 3_600_000);
      utimesSync(p, t, t);
    }
  }
  writeFileSync(join(dir, ".covenant-sandbox"), `created ${new Date().toISOString()} from ${manifestPath}\n`);
  sb.created = true;
  return sb;
}

