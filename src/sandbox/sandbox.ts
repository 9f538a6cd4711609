// The sandbox: runs a policy against a temporary directory of ledger-like files (described by
// a `sandbox.json` beside the policy) and the machine's own /proc, or a /proc of its own, with
// no root needed. Paths named in the policy are read below the sandbox; accounts come from its
// own passwd and group; the change gate changes nothing outside it.
import { createHash } from "node:crypto";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { writeSandboxAccounts } from "./accounts.js";
import { writeHostState, type HostParts } from "./host-write.js";
import { parseManifest, readManifest, SandboxError, type SandboxManifest } from "./manifest.js";
import { checkFacts, type SandboxFacts } from "./extras.js";
import { COMMANDS_ANSWER } from "../probes/recorded-commands.js";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

export { parseManifest, SandboxError, type SandboxManifest } from "./manifest.js";

export interface Sandbox {
  dir: string;
  filesRoot: string;
  etcRoot: string;
  stateDir: string;
  /** the sandbox's own /proc (a manifest with `proc`); else the machine's is read */
  procRoot?: string;
  /** recorded answers of programs that cannot run here (`rpm -qa`, `systemctl show`) */
  answersDir?: string;
  /** the sandbox has an os-release of its own: facts are read from its etc/ */
  osRelease: boolean;
  /** the facts of its manifest (`facts`): they replace the machine's in a run in the sandbox */
  facts?: SandboxFacts;
  created: boolean;
  /** what a run should say of the sandbox reused (made from another or an older manifest) */
  notes: string[];
}

/** The marker's line naming the parts a sandbox holds besides root/, etc/ and state/. */
const HOLDS = "holds:";
/** The marker's line with the sha256 of the manifest's text when the sandbox was made. */
const MANIFEST_SHA256 = "manifest-sha256:";

/** The sandbox's facts (`facts` of its manifest), beside its marker. */
const FACTS = "facts.json";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * A sandbox is reused only when it is the caller's own: in a shared temporary directory,
 * someone else could have prepared one with accounts, links or a /proc of their choosing. The
 * parts its marker names (its own proc/, its recorded answers/) are checked as well; what it
 * holds is taken from the marker, never from the manifest, which may have changed since.
 */
function trustworthy(dir: string): HostParts {
  const me = process.getuid?.() ?? 0;
  const check = (p: string) => {
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st) throw new SandboxError(`${dir} is not a complete Covenant sandbox (${p} is missing); remove it or choose another with --sandbox-dir`);
    if (st.isSymbolicLink() || st.uid !== me) throw new SandboxError(`${p} is not owned by you or is a link; not using the sandbox ${dir}`);
  };
  for (const p of [dir, join(dir, "root"), join(dir, "etc"), join(dir, "etc", "passwd"), join(dir, "etc", "group"), join(dir, ".covenant-sandbox")]) check(p);
  if ((lstatSync(dir).mode & 0o077) !== 0) throw new SandboxError(`${dir} is open to other users; not using it as a sandbox`);
  const holds = readFileSync(join(dir, ".covenant-sandbox"), "utf8").split("\n").find((l) => l.startsWith(HOLDS))?.slice(HOLDS.length).trim().split(/\s+/) ?? [];
  const parts: HostParts = { proc: holds.includes("proc"), answers: holds.includes("answers"), facts: holds.includes("facts") };
  if (parts.proc) check(join(dir, "proc"));
  if (parts.facts) check(join(dir, FACTS));
  if (parts.answers) {
    check(join(dir, "answers"));
    // the probes refuse a link themselves (readAnswer); a file someone else made is refused here
    for (const answer of ["units.json", "rpm-qa", COMMANDS_ANSWER]) if (existsSync(join(dir, "answers", answer)) || lstatSync(join(dir, "answers", answer), { throwIfNoEntry: false })) check(join(dir, "answers", answer));
  }
  return parts;
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

/**
 * Creates the sandbox on first use; later runs reuse it, so that its history accumulates. The
 * manifest is `manifestPath` when given (--sandbox-manifest), else the sandbox.json beside the
 * policy.
 */
export function prepareSandbox(paths: string[], dir = defaultSandboxDir(), manifestPath = findManifest(paths)): Sandbox {
  if (!manifestPath) throw new SandboxError("no sandbox.json beside the policy: a sandbox needs one to know which files to create (see docs/sandbox.md)");
  const sb: Sandbox = { dir, filesRoot: join(dir, "root"), etcRoot: join(dir, "etc"), stateDir: join(dir, "state"), osRelease: false, created: false, notes: [] };
  // an existing sandbox is used as it is: its manifest is not parsed again (it may have changed, or become invalid)
  if (existsSync(join(dir, ".covenant-sandbox"))) return { ...withParts(sb, trustworthy(dir)), notes: reuseNotes(dir, manifestPath) };
  if (existsSync(dir)) throw new SandboxError(`${dir} exists and is not a Covenant sandbox; choose another with --sandbox-dir`);
  const manifestText = readManifest(manifestPath);
  return createSandbox(dir, parseManifest(manifestText, manifestPath), { from: resolve(manifestPath), text: manifestText });
}

/**
 * A new sandbox in `dir` (which must not exist) from a manifest already checked: `origin` names
 * where it came from in the marker (a manifest's path, or a test file's fixture) and its text.
 */
export function createSandbox(dir: string, manifest: SandboxManifest, origin: { from: string; text: string }): Sandbox {
  const sb: Sandbox = { dir, filesRoot: join(dir, "root"), etcRoot: join(dir, "etc"), stateDir: join(dir, "state"), osRelease: false, created: false, notes: [] };
  let made = false;
  let parts: HostParts;
  try {
    // created here, owner-only, failing if someone else created it first
    mkdirSync(dirname(dir), { recursive: true });
    mkdirSync(dir, { mode: 0o700 });
    made = true;
    chmodSync(dir, 0o700);
    parts = populate(sb, manifest);
    const holds = [...(parts.proc ? ["proc"] : []), ...(parts.answers ? ["answers"] : []), ...(parts.facts ? ["facts"] : [])];
    writeFileSync(join(dir, ".covenant-sandbox"), `created ${new Date().toISOString()} from ${origin.from.replace(/\n/g, " ")}\n${HOLDS} ${holds.join(" ")}\n${MANIFEST_SHA256} ${sha256(origin.text)}\n`);
  } catch (err) {
    // a half-made sandbox would be refused by the next run ("not a Covenant sandbox"): it goes
    if (made) rmSync(dir, { recursive: true, force: true });
    if (err instanceof SandboxError) throw err;
    throw new SandboxError(`cannot create the sandbox in ${dir} from ${origin.from}: ${(err as Error).message}`);
  }
  return { ...withParts(sb, parts), created: true };
}

/** The sandbox with the parts its marker names. */
function withParts(sb: Sandbox, parts: HostParts): Sandbox {
  const out: Sandbox = {
    ...sb,
    ...(parts.proc ? { procRoot: join(sb.dir, "proc") } : {}),
    ...(parts.answers ? { answersDir: join(sb.dir, "answers") } : {}),
    osRelease: lstatSync(join(sb.etcRoot, "os-release"), { throwIfNoEntry: false })?.isFile() === true,
  };
  if (parts.facts) out.facts = readFacts(join(sb.dir, FACTS));
  return out;
}

/** A sandbox's facts.json, checked again as the manifest's `facts` were: a reused sandbox may have been edited since. */
function readFacts(path: string): SandboxFacts {
  const problems: string[] = [];
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    problems.push("not valid JSON");
  }
  const facts = problems.length === 0 ? checkFacts(raw, problems, false) : undefined;
  if (facts === undefined || problems.length > 0) throw new SandboxError(`${path} is not the facts a sandbox writes (${problems.join("; ")}); remove the sandbox to start again`);
  return facts as SandboxFacts;
}

/**
 * What to say of a sandbox reused whose marker names another manifest than `manifestPath`, or
 * whose manifest has changed since (its sha256 is not the one recorded; a marker of an older
 * Covenant records none): the sandbox is used as it is, and removing it starts again.
 */
function reuseNotes(dir: string, manifestPath: string): string[] {
  const marker = readFileSync(join(dir, ".covenant-sandbox"), "utf8").split("\n");
  const from = / from (.*)$/.exec(marker[0] ?? "")?.[1];
  const recorded = marker.find((l) => l.startsWith(MANIFEST_SHA256))?.slice(MANIFEST_SHA256.length).trim();
  const again = `reused as it is (remove ${dir} to start again from ${manifestPath})`;
  if (from !== undefined && resolve(from) !== resolve(manifestPath)) return [`the sandbox ${dir} was made from another manifest (${from}, not ${manifestPath}): ${again}`];
  if (recorded === undefined) return [];
  let now: string;
  try {
    now = sha256(readManifest(manifestPath));
  } catch (err) {
    return [`${manifestPath} cannot be read now (${(err as Error).message}); the sandbox ${dir} made from it is ${again}`];
  }
  return now === recorded ? [] : [`the sandbox ${dir} was made from an older ${manifestPath} (it has changed since): ${again}`];
}

/**
 * Accounts, directories and files of a new sandbox. As root, every account gets an id of its
 * own. As an ordinary user, who cannot give files away, every user maps to the caller's uid and
 * every group to the caller's gid, so that ownership holds by construction and modes are what
 * drift; users then get a primary gid that is none of the groups' (primary membership is not
 * simulated: otherwise every user would be a primary member of every group).
 */
function populate(sb: Sandbox, manifest: SandboxManifest): HostParts {
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
  writeFileSync(join(sb.etcRoot, "group"), Object.entries(manifest.groups).map(([g, members]) => `${g}:x:${gids.get(g)}:${members.join(",")}`).join("\n") + "\n", { flag: "wx" });
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
  // after the files: the package database goes below directories the manifest may have made
  const parts = writeHostState(sb.dir, sb.filesRoot, sb.etcRoot, manifest);
  if (manifest.commands !== undefined) {
    mkdirSync(join(sb.dir, "answers"), { recursive: true });
    writeFileSync(join(sb.dir, "answers", COMMANDS_ANSWER), JSON.stringify({ commands: manifest.commands }, null, 2) + "\n", { flag: "wx" });
    parts.answers = true;
  }
  if (manifest.facts !== undefined) {
    writeFileSync(join(sb.dir, FACTS), JSON.stringify(manifest.facts, null, 2) + "\n", { flag: "wx" });
    parts.facts = true;
  }
  return parts;
}
