// `covenant enroll URL --token T --ca FILE`: registers this host's signing key with the fleet hub
// (hub/client/enroll.ts) and keeps the enrolment in the state directory (hub.json, hub-ca.pem).
// The token is read from --token, --token-file or COVENANT_ENROLL_TOKEN, sent to the hub only,
// and never printed, logged or kept.
import { hostname } from "node:os";
import { certificateProblem, EnrolmentError, isEnrolled, MAX_CA_BYTES, writeEnrolment } from "../../hub/client/enrolment.js";
import { enroll, hubUrl } from "../../hub/client/enroll.js";
import { HubTlsError } from "../../hub/tls.js";
import { readRegularFile } from "../../store/safe-files.js";
import { defaultStateDir, ensureStateDir } from "../../store/state-dir.js";
import { StateStore, StoreError } from "../../store/store.js";
import { modeText, runningAsRoot } from "../../trust/strict-modes.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";

export interface EnrollOptions {
  token?: string;
  tokenFile?: string;
  ca: string;
  name?: string;
  state?: string;
  again: boolean;
  json: boolean;
}

/** The longest token read: `covenant hub token` makes ~50 characters. */
const MAX_TOKEN = 1024;

class UsageError extends Error {}

export async function runEnroll(url: string, opts: EnrollOptions, io: Io, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    return await enrollGuarded(url, opts, io, env);
  } catch (err) {
    if (!(err instanceof UsageError || err instanceof EnrolmentError || err instanceof StoreError || err instanceof HubTlsError)) throw err;
    io.err(`covenant enroll: ${escapeText(err.message)}`);
    return EXIT.policyError;
  }
}

async function enrollGuarded(urlText: string, opts: EnrollOptions, io: Io, env: NodeJS.ProcessEnv): Promise<number> {
  const url = hubUrl(urlText);
  if (typeof url !== "string") throw new UsageError(`the hub's address \`${urlText.slice(0, 200)}\` ${url.problem}`);
  const token = tokenOf(opts, env);
  const name = opts.name ?? hostname();
  // the hub's own rule for names (src/hub/server/enroll.ts): said here, before anything is sent
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(name)) throw new UsageError(`${opts.name === undefined ? "this host's name" : "--name"} \`${name.slice(0, 80)}\` is not a host name the hub takes (letters, digits, '.', '_' and '-', at most 253, starting with a letter or digit)${opts.name === undefined ? ": give one with --name" : ""}`);
  const ca = readInputFile(opts.ca, "the hub's CA certificate (--ca)", MAX_CA_BYTES);
  certificateProblem(ca, opts.ca);
  const dir = ensureStateDir(opts.state ?? defaultStateDir());
  if (isEnrolled(dir) && !opts.again) throw new UsageError(`this host is already enrolled (${dir}/hub.json): give --again to enroll it anew (the hub then knows it under a new host id)`);
  const store = StateStore.open(dir);
  let key;
  try {
    key = store.signingKey(true)!;
  } finally {
    store.close();
  }
  const outcome = await enroll({ url, token, name, ca, caFile: opts.ca, key });
  if (outcome.status === "unreachable") {
    // a certificate the CA given did not sign: trying again will not help (the wrong CA, or not the hub)
    io.err(`covenant enroll: the hub at ${escapeText(url)} is ${outcome.untrusted ? "not to be trusted" : "unreachable"}: ${escapeText(outcome.why)}; not enrolled${outcome.untrusted ? " (is --ca the CA that `covenant hub init` made for this hub?)" : ""}`);
    return outcome.untrusted ? EXIT.policyError : EXIT.hubUnreachable;
  }
  if (outcome.status === "refused") {
    io.err(`covenant enroll: the hub refused the enrolment${outcome.httpStatus !== undefined ? ` (HTTP ${outcome.httpStatus})` : ""}: ${escapeText(outcome.message)}; not enrolled`);
    return EXIT.hubRefused;
  }
  writeEnrolment(dir, outcome.enrolment, ca);
  const e = outcome.enrolment;
  if (opts.json) io.out(JSON.stringify(e, null, 2));
  else io.out(`enrolled with ${escapeText(e.url)} as ${escapeText(e.name)}: host id ${e.host}, signing key ${escapeText(e.fingerprint)}${e.hubKey ? `; the hub's key is ${escapeText(e.hubKey.fingerprint)}` : ""}; \`covenant push\` sends the history, and every run pushes after it`);
  return EXIT.ok;
}

/** The token from exactly one of --token, --token-file and COVENANT_ENROLL_TOKEN; never quoted in an error. */
function tokenOf(opts: EnrollOptions, env: NodeJS.ProcessEnv): string {
  const fromEnv = env["COVENANT_ENROLL_TOKEN"];
  const given = [opts.token !== undefined, opts.tokenFile !== undefined].filter(Boolean).length;
  if (given > 1) throw new UsageError("give the token once: --token or --token-file");
  let token: string | undefined = opts.token;
  if (opts.tokenFile !== undefined) token = readInputFile(opts.tokenFile, "the token file (--token-file)", MAX_TOKEN).trim();
  token ??= fromEnv;
  if (token === undefined) throw new UsageError("no enrolment token: give --token T, --token-file F, or set COVENANT_ENROLL_TOKEN (`covenant hub token` makes one on the hub)");
  if (token.length === 0 || token.length > MAX_TOKEN || /[\s\p{Cc}]/u.test(token)) throw new UsageError(`the enrolment token is not one \`covenant hub token\` makes (1 to ${MAX_TOKEN} characters, no spaces or control characters)`);
  return token;
}

/** A file the user names, read without following a link; as root, one another user could have written is refused. */
function readInputFile(path: string, what: string, maxBytes: number): string {
  const text = readRegularFile(path, what, maxBytes, (st) => {
    if (!runningAsRoot()) return undefined;
    if (st.uid !== 0) return `${what} ${path} is owned by uid ${st.uid}, not root: as root, Covenant trusts only what root wrote; copy it as root (install -o root -m 0644)`;
    if (st.mode & 0o022) return `${what} ${path} is writable by others than root (mode ${modeText(st)}): chmod go-w it`;
    return undefined;
  });
  if (text === undefined) throw new UsageError(`${what} ${path} does not exist`);
  return text;
}
