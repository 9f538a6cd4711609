// The hub's policy on a host (`covenant run --from-hub`): the version in force for this host is
// fetched with a signed request, checked with the hub's public key from the enrolment (the
// signature over its statement, then every file against it), and written whole into
// `hub-policy/<content>/` in the state directory, root's like everything there, never through a
// link. The caller then checks the policy as any policy is checked; only a version that checks
// becomes `hub-policy/current`, the last good one, which is run whenever the hub cannot be
// reached or serves a version that does not check here.
import { createPublicKey } from "node:crypto";
import { lstatSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { replaceFile, createFileExclusively } from "../../store/safe-files.js";
import type { SigningKey } from "../../store/signing-key.js";
import { encodeBody, HEX64, HOST_HEADER, PROTOCOL, PROTOCOL_VERSION, SIGNATURE_HEADER, signBody } from "../protocol.js";
import { verifySignedPolicy } from "../policy/verify.js";
import { MAX_POLICY_BYTES } from "../policy/check.js";
import { readEnrolment } from "./enrolment.js";
import { HubConnection } from "./http.js";

export const HUB_POLICY_DIR = "hub-policy";
const CURRENT = "current";

export type Fetched =
  /** a version new to this host, written, not yet checked here */
  | { kind: "new"; dir: string; content: string; id: number; current?: { dir: string; content: string } }
  /** the version this host runs already */
  | { kind: "unchanged"; dir: string; content: string }
  /** no version from the hub: why, and the last good one, if any */
  | { kind: "none"; why: string; current?: { dir: string; content: string } };

/** The last good version this host ran from the hub. */
export function currentHubPolicy(stateDir: string): { dir: string; content: string } | undefined {
  let content: string;
  try {
    content = readFileSync(join(stateDir, HUB_POLICY_DIR, CURRENT), "utf8").trim();
  } catch {
    return undefined;
  }
  if (!HEX64.test(content)) return undefined;
  const dir = join(stateDir, HUB_POLICY_DIR, content);
  try {
    if (!lstatSync(dir).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  return { dir, content };
}

/** Marks a version as the last good one: it checked on this host. */
export function adoptHubPolicy(stateDir: string, content: string): void {
  replaceFile(join(stateDir, HUB_POLICY_DIR, CURRENT), `${content}\n`, { sync: true });
}

function mkdirPrivate(path: string): void {
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    if (!lstatSync(path).isDirectory()) throw new Error(`${path} is not a directory`);
  }
}

/** Writes a verified version's files into a new directory, whole: a directory half-written is never named. */
function writeVersion(stateDir: string, content: string, files: readonly { path: string; text: string }[]): string {
  const root = join(stateDir, HUB_POLICY_DIR);
  mkdirPrivate(root);
  const final = join(root, content);
  try {
    if (lstatSync(final).isDirectory()) return final;
  } catch {
    // not there yet
  }
  const tmp = join(root, `.${content}.${process.pid}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirPrivate(tmp);
  for (const f of files) {
    const path = join(tmp, ...f.path.split("/"));
    for (let d = dirname(path); d !== tmp && d.startsWith(tmp); d = dirname(d)) mkdirSync(d, { recursive: true, mode: 0o700 });
    if (!createFileExclusively(path, f.text, { mode: 0o600 })) throw new Error(`${path} appeared while the policy was written`);
  }
  renameSync(tmp, final);
  return final;
}

/** Fetches the hub's version for this host; never throws for the hub being unreachable or wrong: says why. */
export async function fetchHubPolicy(stateDir: string, key: SigningKey, deadline = Date.now() + 30_000): Promise<Fetched> {
  const current = currentHubPolicy(stateDir);
  const withCurrent = current ? { current } : {};
  const found = readEnrolment(stateDir);
  if (!found) return { kind: "none", why: "this host is not enrolled with a hub", ...withCurrent };
  const hubKey = found.enrolment.hubKey;
  if (!hubKey) return { kind: "none", why: "the enrolment holds no hub key to check a policy with: enroll again with a hub that gives it", ...withCurrent };
  const body = { protocol: PROTOCOL, version: PROTOCOL_VERSION, kind: "policy", host: found.enrolment.host, sentAt: new Date().toISOString(), have: current?.content ?? null };
  const bytes = encodeBody(body as never);
  const conn = new HubConnection(found.enrolment.url, found.ca);
  try {
    const answer = await conn.post("/v1/policy", bytes, { [HOST_HEADER]: found.enrolment.host, [SIGNATURE_HEADER]: signBody(bytes, key.privateKey) }, deadline, undefined, 2 * MAX_POLICY_BYTES);
    if (answer.kind === "none") return { kind: "none", why: `the hub could not be reached: ${answer.why}`, ...withCurrent };
    const a = answer.body as { status?: string; content?: string; id?: number; policy?: unknown; message?: string } | undefined;
    if (answer.status !== 200 || !a) return { kind: "none", why: `the hub answered ${answer.status}${a?.message ? `: ${a.message}` : ""}`, ...withCurrent };
    if (a.status === "none") return { kind: "none", why: "the hub has no policy version in force for this host", ...withCurrent };
    if (a.status === "unchanged" && current && a.content === current.content) return { kind: "unchanged", ...current };
    if (a.status !== "policy") return { kind: "none", why: "the hub's answer is not one this host reads", ...withCurrent };
    const pub = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(hubKey.publicKey, "base64").toString("base64url") }, format: "jwk" });
    const verified = verifySignedPolicy(a.policy, pub);
    if ("problem" in verified) return { kind: "none", why: `the hub's policy was refused: ${verified.problem}`, ...withCurrent };
    const content = verified.statement.content;
    if (!HEX64.test(content)) return { kind: "none", why: "the hub's policy names no content key", ...withCurrent };
    if (current && current.content === content) return { kind: "unchanged", ...current };
    const dir = writeVersion(stateDir, content, verified.files);
    return { kind: "new", dir, content, id: verified.statement.id, ...withCurrent };
  } finally {
    conn.close();
  }
}
