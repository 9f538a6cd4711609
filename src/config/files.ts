// Reading covenant.yaml and judging secret files: bounded, never through a FIFO or device, never
// following a link swapped in (src/checker/policy-file.ts readPolicyFile). As root, the file and
// every directory on the way follow the rule root applies to its policy (src/trust/strict-modes.ts):
// a configuration names the people told of deficiencies and the secrets Covenant uses, so a file
// another user can change would let them redirect or silence every notice. A secret file is
// refused for any user when others can read it.
import { lstatSync, realpathSync, type Stats } from "node:fs";
import { errnoReason, readPolicyFile, sizeText } from "../checker/policy-file.js";
import { judge, kindOf, modeText, walk, type Refusal, type Rule } from "../trust/strict-modes.js";

/** covenant.yaml is a page of settings: 1 MiB is far more than any needs. */
const MAX_CONFIG_BYTES = 1024 * 1024;
/** a password, a token or an HMAC key */
const MAX_SECRET_BYTES = 64 * 1024;
/** a PEM bundle of CA certificates: Debian's whole ca-certificates.crt is ~220 KiB */
const MAX_CA_BYTES = 1024 * 1024;

class TrustError extends Error {}

const configRule: Rule = { says: "as root, Covenant uses only configuration that no other user can change", error: (m) => new TrustError(m) };
const secretRule: Rule = { says: "as root, Covenant uses only secrets that no other user can change", error: (m) => new TrustError(m) };
const caRule: Rule = { says: "as root, Covenant trusts only CA certificates that no other user can change", error: (m) => new TrustError(m) };
const ELSEWHERE = "keep it in a directory only root can write, such as /etc/covenant";
const fileFix = (path: string) => (why: Refusal) => (why === "owner" ? `check it, then \`chown root:root ${path} && chmod go-w ${path}\`` : `check it, then \`chmod go-w ${path}\``);

export type FileProblem = { code: "E322" | "E323" | "E324" | "E325"; message: string; suggestion?: string };

function trustRefusal(check: () => void): string | undefined {
  try {
    check();
    return undefined;
  } catch (err) {
    if (err instanceof TrustError) return err.message;
    throw err;
  }
}

/** The path with no link in it: walked and judged as root, resolved by the kernel otherwise. */
function realPath(path: string, root: boolean, of: string, rule: Rule): { real: string } | { refused: string } | { missing: string } {
  if (root) {
    let real = "";
    const refused = trustRefusal(() => void (real = walk(path, { of, elsewhere: ELSEWHERE, sticky: true, rule })));
    return refused !== undefined ? { refused } : { real };
  }
  try {
    return { real: realpathSync(path) };
  } catch (err) {
    return { missing: errnoReason(err) };
  }
}

/** The configuration file's text, or why it cannot be used. `path` is absolute. */
export function readConfigFile(path: string, root: boolean, maxBytes = MAX_CONFIG_BYTES): { text: string } | FileProblem {
  const where = realPath(path, root, `the configuration ${path}`, configRule);
  if ("refused" in where) return { code: "E323", message: where.refused };
  if ("missing" in where) return { code: "E322", message: `the configuration ${path} cannot be read: ${where.missing}` };
  const judgeFile = root ? (st: Stats) => trustRefusal(() => judge(st, `the configuration ${path}`, fileFix(path), false, configRule)) : undefined;
  const r = readPolicyFile(where.real, maxBytes, judgeFile);
  if (r.ok) return { text: r.text };
  if (r.code === "E122") return { code: "E323", message: r.problem };
  if (r.code === "E008") return { code: "E322", message: `the configuration ${path} is larger than the ${sizeText(maxBytes)} a configuration may be` };
  return { code: "E322", message: `the configuration ${path} ${r.code === "E006" ? `cannot be read: ${r.problem}` : r.problem}` };
}

/** Why a secret file may not be used, judged on its status: others can read it, or (as root) others can change it. */
function secretRefusal(st: Stats, path: string, root: boolean): FileProblem | undefined {
  if (root) {
    const refused = trustRefusal(() => judge(st, `the secret file ${path}`, fileFix(path), false, secretRule));
    if (refused !== undefined) return { code: "E323", message: refused };
    // another name for root's file, made where root looks (a sticky directory, without
    // fs.protected_hardlinks), would have root send that file's content as a password
    if (st.nlink > 1) return { code: "E323", message: `the secret file ${path} has ${st.nlink - 1} other name${st.nlink === 2 ? "" : "s"} (a hard link): as root, Covenant reads only a secret file with one name`, suggestion: `write the secret to a new file: \`install -m 600 /dev/null ${path}.new\`, fill it, then \`mv ${path}.new ${path}\`` };
  }
  if (st.mode & 0o077) {
    const who = st.mode & 0o007 ? (st.mode & 0o070 ? "its group and others" : "others") : "its group";
    return { code: "E324", message: `the secret file ${path} is world-readable or group-readable (mode ${modeText(st)}: ${who} may read or change it)`, suggestion: `\`chmod 600 ${path}\`` };
  }
  return undefined;
}

/** A secret file's content, or why it cannot be used; the content never reaches a message. */
export function readSecretFile(path: string, root: boolean): { text: string } | FileProblem {
  const where = realPath(path, root, `the secret file ${path}`, secretRule);
  if ("refused" in where) return { code: "E323", message: where.refused };
  if ("missing" in where) return { code: "E325", message: `the secret file ${path} cannot be read: ${where.missing}` };
  let refusal: FileProblem | undefined;
  const r = readPolicyFile(where.real, MAX_SECRET_BYTES, (st) => {
    refusal = secretRefusal(st, path, root);
    return refusal?.message;
  });
  if (r.ok) return { text: r.text };
  if (r.code === "E122" && refusal) return refusal;
  if (r.code === "E008") return { code: "E325", message: `the secret file ${path} is larger than the ${sizeText(MAX_SECRET_BYTES)} a secret may be` };
  // E007's text is what precedes a byte that is not UTF-8: part of the secret, never shown
  return { code: "E325", message: `the secret file ${path} ${r.code === "E006" ? `cannot be read: ${r.problem}` : r.code === "E007" ? "is not UTF-8 text" : r.problem}` };
}

/** Why a secret file would be refused, judged without opening it (a configuration is checked long before a secret is needed). */
export function judgeSecretFile(path: string, root: boolean): FileProblem | undefined {
  const where = realPath(path, root, `the secret file ${path}`, secretRule);
  if ("refused" in where) return { code: "E323", message: where.refused };
  if ("missing" in where) return { code: "E325", message: `the secret file ${path} cannot be read: ${where.missing}` };
  let st: Stats;
  try {
    st = lstatSync(where.real);
  } catch (err) {
    return { code: "E325", message: `the secret file ${path} cannot be read: ${errnoReason(err)}` };
  }
  if (!st.isFile()) return { code: "E325", message: `the secret file ${path} is ${kindOf(st)}, not a regular file` };
  return secretRefusal(st, path, root);
}

/**
 * A channel's `ca_file` (PEM: public, but whoever can change it decides which servers the channel
 * trusts, and so who reads its password and its mail), read as the configuration is: bounded,
 * never through a FIFO or device, no link swapped in, and as root, the file and every directory
 * on its way no other user's to change.
 */
export function readCaFile(path: string, root: boolean): { text: string } | FileProblem {
  const where = realPath(path, root, `the CA file ${path}`, caRule);
  if ("refused" in where) return { code: "E323", message: where.refused };
  if ("missing" in where) return { code: "E325", message: `the CA file ${path} cannot be read: ${where.missing}` };
  const judgeFile = root ? (st: Stats) => trustRefusal(() => judge(st, `the CA file ${path}`, fileFix(path), false, caRule)) : undefined;
  const r = readPolicyFile(where.real, MAX_CA_BYTES, judgeFile);
  if (r.ok) return { text: r.text };
  if (r.code === "E122") return { code: "E323", message: r.problem };
  if (r.code === "E008") return { code: "E325", message: `the CA file ${path} is larger than the ${sizeText(MAX_CA_BYTES)} a CA file may be` };
  return { code: "E325", message: `the CA file ${path} ${r.code === "E006" ? `cannot be read: ${r.problem}` : r.code === "E007" ? "is not UTF-8 text (PEM is ASCII): convert it, e.g. with iconv -t UTF-8" : r.problem}` };
}

/**
 * Why a `ca_file` would be refused when a channel reads it: read now, as it will be then (a PEM
 * bundle is small; reading it is what makes `check`, a load and a cache hit refuse exactly what
 * the channel would: a file too large or not UTF-8, besides where it is and who may change it).
 */
export function judgeCaFile(path: string, root: boolean): FileProblem | undefined {
  const read = readCaFile(path, root);
  return "code" in read ? read : undefined;
}
