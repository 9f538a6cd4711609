// The sandbox: runs a policy against a temporary directory of ledger-like files (described by
// a `sandbox.json` beside the policy) and the machine's own /proc, with no root needed. Paths
// named in the policy are read below the sandbox; accounts come from its own passwd and group;
// the change gate changes nothing outside it.
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
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
  if (!manifestPath) throw new SandboxError("no sandbox.json beside the policy: a sandbox needs one to know which files to create (see docs/sandbox.md)");
  let manifest: SandboxManifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as SandboxManifest;
  } catch (err) {
    throw new SandboxError(`${manifestPath}: ${(err as Error).message}`);
  }
  const sb: Sandbox = { dir, filesRoot: join(dir, "root"), etcRoot: join(dir, "etc"), stateDir: join(dir, "state"), created: false };
  if (existsSync(join(dir, ".covenant-sandbox"))) return sb;
  if (existsSync(dir)) throw new SandboxError(`${dir} exists and is not a Covenant sandbox; choose another with --sandbox-dir`);
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

