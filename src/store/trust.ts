// As root, Covenant uses only state that no other user can change: the rule sshd's StrictModes
// and sudo apply to their files. The state directory, every directory on the way to it, and the
// files in it (state.db and its WAL, host.key, ledger.head, run.lock, the hub enrolment) must be owned by root and
// not writable by group or others; a directory on the way to the state directory may be
// world-writable only with the sticky bit (as /tmp is), which keeps others from renaming or
// removing root's entries in it. Paths are followed one link at a time, each link judged where it
// is: a link must be root's, in a directory root's rules allow, or its owner decides where it
// leads. The host key is held to more: it may not be readable by anyone but root, nor have a
// second name, nor sit in a sticky directory, where another user may create its name first.
import { type Stats } from "node:fs";
import { join, resolve } from "node:path";
import { judge as judgeBy, kindOf, lstatOrUndefined as lstatBy, modeText, runningAsRoot, walk as walkBy, type Refusal, type Rule } from "../trust/strict-modes.js";
import { UntrustedStateError } from "./errors.js";

/** The files of a state directory, as the store names them. */
export const STATE_FILES = ["state.db", "state.db-wal", "state.db-shm", "host.key", "host.key.next", "host.key.retired", "ledger.head", "run.lock", "signing.key", "signing.key.next", "hub.json", "hub-ca.pem"] as const;

/** The host key, a rotation's pending one, and the keys rotations retired: held to the host key's rules. */
const HOST_KEY_FILES: readonly string[] = ["host.key", "host.key.next", "host.key.retired"];

/** The signing key and a rotation's pending one: private keys, held to the host key's rules. */
const SIGNING_FILES: readonly string[] = ["signing.key", "signing.key.next"];

/** The state's rule: refusals are UntrustedStateError, which every command reports with exit 2. */
const STATE_RULE: Rule = { says: "as root, Covenant uses only state that no other user can change", error: (m) => new UntrustedStateError(m) };

const lstatOrUndefined = (path: string) => lstatBy(path, STATE_RULE);

const judge = (st: Stats, what: string, fix: (why: Refusal) => string, sticky: boolean) => judgeBy(st, what, fix, sticky, STATE_RULE);

const ADOPT_NOTHING = "Covenant never adopts what another user made";

/** Follows a path to the state one link at a time, judging the way (strict-modes.ts). */
function walk(path: string, w: { of: string; elsewhere: string; sticky: boolean }): string {
  return walkBy(path, { ...w, rule: STATE_RULE });
}

/**
 * The state directory itself and every directory and link on the way to it; `dir` may not exist
 * yet. Returns the directory with no link in it.
 */
export function checkStateDirectory(dir: string): string {
  const abs = resolve(dir);
  if (!runningAsRoot()) return abs;
  const elsewhere = "choose another --state";
  const real = walk(abs, { of: `the state directory ${abs}`, elsewhere, sticky: true });
  const st = lstatOrUndefined(real);
  if (!st) return real;
  const named = real === abs ? `the state directory ${abs}` : `the state directory ${abs}, that is ${real},`;
  if (!st.isDirectory()) throw new UntrustedStateError(`${named} is ${kindOf(st)}, not a directory`);
  judge(st, named, (why) => (why === "owner" ? `move ${real} aside and keep it as evidence (${ADOPT_NOTHING}): a run as root then makes a new one; or ${elsewhere}` : `chmod go-w ${real}, or ${elsewhere}`), false);
  return real;
}

/**
 * Why the host key, as `st` describes it, may not be used as root; undefined when it may. A key
 * another user owns, can read or could have written lets them forge the history; one with a
 * second name may be reachable from where others look. `named` says which key, for messages.
 */
export function keyProblem(named: string, path: string, st: Stats, abuse = "forge the history"): string | undefined {
  if (!runningAsRoot()) return undefined;
  const fresh = "or move the state directory aside to start a new history";
  const restore = `restore the key from its backup as root (install -o root -m 0600 BACKUP ${path}), ${fresh}`;
  if (!st.isFile()) return `${named} is ${kindOf(st)}, not a regular file`;
  if (st.uid !== 0) return `${named} is owned by uid ${st.uid}, not root: someone else made it, so it is not used (a key another user made or knows lets them ${abuse}); fix: move it aside and keep it as evidence (${ADOPT_NOTHING}), then ${restore}`;
  if (st.mode & 0o022) return `${named} is writable by ${st.mode & 0o002 ? "others" : "its group"} (mode ${modeText(st)}): someone else may have replaced it, so it is not used; fix: move it aside and keep it as evidence, then ${restore}`;
  if (st.mode & 0o077) return `${named} can be read by ${st.mode & 0o007 ? "others" : "its group"} (mode ${modeText(st)}): whoever read it can ${abuse}, so it is not used (as sshd refuses such a private key); fix: if no one else can have read it, chmod 0600 ${path}; otherwise ${fresh.replace(/^or /, "")}`;
  if (st.nlink > 1) return `${named} has ${st.nlink} names (hard links): another may be in a directory someone else controls, so it is not used; fix: find and remove its other names (find / -xdev -samefile ${path})`;
  return undefined;
}

/** The files in the state directory that exist, and the host key wherever it is kept. */
export function checkStateFiles(dir: string, keyFile: string | undefined, signingKeyFile: string | undefined = process.env["COVENANT_SIGNING_KEY_FILE"]): void {
  if (!runningAsRoot()) return;
  const abs = resolve(dir);
  const names: Record<string, string> = { "state.db": "the store", "state.db-wal": "the store's log", "state.db-shm": "the store's shared memory", "host.key": "the host key", "host.key.next": "the host key a rotation put in waiting", "host.key.retired": "the retired host keys", "ledger.head": "the head anchor", "run.lock": "the run lock", "signing.key": "the signing key", "signing.key.next": "the signing key a rotation put in waiting", "hub.json": "the hub enrolment", "hub-ca.pem": "the hub's CA certificate" };
  for (const name of STATE_FILES) {
    // the retired keys are kept in the state directory wherever the key is
    if ((name === "host.key" || name === "host.key.next") && keyFile !== undefined) continue;
    if (SIGNING_FILES.includes(name) && signingKeyFile !== undefined) continue;
    const path = join(abs, name);
    const st = lstatOrUndefined(path);
    if (!st) continue;
    if (!st.isFile()) throw new UntrustedStateError(`${names[name]} ${path} is ${kindOf(st)}: Covenant never makes one there; remove it`);
    if (SIGNING_FILES.includes(name)) {
      const problem = keyProblem(`${names[name]} ${path}`, path, st, "sign evidence packs in the host's name");
      if (problem) throw new UntrustedStateError(problem);
      continue;
    }
    if (HOST_KEY_FILES.includes(name)) {
      const problem = keyProblem(`${names[name]} ${path}`, path, st);
      if (problem) throw new UntrustedStateError(problem);
      continue;
    }
    const aside = name === "run.lock" ? `remove ${path} (${ADOPT_NOTHING})` : `move ${path} aside and keep it as evidence (${ADOPT_NOTHING}), then restore it from a backup as root, or move the state directory aside to start a new history`;
    judge(st, `${names[name]} ${path}`, (why) => (why === "owner" ? aside : `chmod go-w ${path} (others could have changed it: run \`covenant verify\`)`), false);
  }
  if (keyFile !== undefined) checkKeyFile(keyFile, "the host key", "COVENANT_HOST_KEY_FILE");
  if (signingKeyFile !== undefined) {
    checkKeyFile(signingKeyFile, "the signing key", "COVENANT_SIGNING_KEY_FILE");
    checkKeyFile(`${signingKeyFile}.next`, "the signing key a rotation put in waiting", "COVENANT_SIGNING_KEY_FILE");
  }
}

/**
 * COVENANT_HOST_KEY_FILE: it may be a link (a secrets mount), but each link on the way, the file
 * it names and every directory on the way must be root's, and no directory on the way may be
 * writable by others even with the sticky bit: in /tmp, anyone can make the key's name first.
 */
function checkKeyFile(keyFile: string, what: string, variable: string): void {
  const abs = resolve(keyFile);
  const of = `${what} ${abs} (${variable})`;
  const real = walk(abs, { of, elsewhere: `point ${variable} at a file in a directory only root can write`, sticky: false });
  const st = lstatOrUndefined(real);
  if (!st) return;
  const problem = keyProblem(real === abs ? of : `${of}, that is ${real},`, real, st, variable === "COVENANT_HOST_KEY_FILE" ? "forge the history" : "sign evidence packs in the host's name");
  if (problem) throw new UntrustedStateError(problem);
}
