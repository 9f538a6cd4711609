// Enrolment: the host registers the public half of its signing key with the hub, with a one-time
// token an administrator made (`covenant hub token`). The body is signed with the same key, so the
// hub knows the host holds its private half. The token goes to the hub and nowhere else: not in
// hub.json, not in a message.
import { rawPublicKey } from "../../store/signing-key.js";
import type { SigningKey } from "../../store/store.js";
import { encodeBody, PROTOCOL, PROTOCOL_VERSION, SIGNATURE_HEADER, signBody, type EnrollBody } from "../protocol.js";
import { enrolledOf, hubSays } from "./answers.js";
import type { Enrolment } from "./enrolment.js";
import { HubConnection } from "./http.js";

export type EnrollOutcome =
  | { status: "enrolled"; enrolment: Enrolment }
  | { status: "unreachable"; why: string; untrusted?: true }
  /** the hub refused (a token used, expired or unknown), or answered something that is not an enrolment: `message` is the hub's words where it gave them (escape before printing) */
  | { status: "refused"; httpStatus?: number; message: string };

/** A hub address as stored: https only, no credentials, query or fragment; without a trailing slash. */
export function hubUrl(text: string): string | { problem: string } {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return { problem: "is not a URL (such as https://hub.example.com:8443)" };
  }
  if (u.protocol !== "https:") return { problem: "is not an https:// address: the hub is reached over TLS only" };
  if (u.username !== "" || u.password !== "") return { problem: "carries a user name or password: the host is known to the hub by its key, not by a password" };
  if (u.search !== "" || u.hash !== "") return { problem: "has a query or a fragment" };
  return u.toString().replace(/\/$/, "");
}

/** HubTlsError (before anything is sent) when `ca` holds no CA certificate. */
export async function enroll(req: { url: string; token: string; name: string; ca: string; caFile?: string; key: SigningKey; now?: Date }): Promise<EnrollOutcome> {
  const at = req.now ?? new Date();
  const body: EnrollBody = { protocol: PROTOCOL, version: PROTOCOL_VERSION, kind: "enroll", token: req.token, name: req.name, publicKey: rawPublicKey(req.key.publicKey).toString("base64"), sentAt: at.toISOString() };
  const bytes = encodeBody(body);
  const hub = new HubConnection(req.url, req.ca, req.caFile);
  try {
    const answer = await hub.post("/v1/enroll", bytes, { [SIGNATURE_HEADER]: signBody(bytes, req.key.privateKey) });
    if (answer.kind === "none") return { status: "unreachable", why: answer.why, ...(answer.untrusted ? { untrusted: true as const } : {}) };
    if (answer.status >= 500) return { status: "unreachable", why: `HTTP ${answer.status}${hubSays(answer) ? `: ${hubSays(answer)}` : ""}` };
    if (answer.status !== 201 && answer.status !== 200) return { status: "refused", httpStatus: answer.status, message: hubSays(answer) || `HTTP ${answer.status}` };
    const ok = enrolledOf(answer.body);
    if (!ok) return { status: "refused", httpStatus: answer.status, message: `the hub's answer is not a protocol v1 enrolment (or names a hub key that is not its own): ${answer.text.slice(0, 200)}` };
    if (ok.fingerprint !== req.key.fingerprint) return { status: "refused", httpStatus: answer.status, message: `the hub says it enrolled the key ${ok.fingerprint}, but this host's key is ${req.key.fingerprint}: not saved` };
    return { status: "enrolled", enrolment: { url: req.url, host: ok.host, name: ok.name, fingerprint: ok.fingerprint, enrolledAt: at.toISOString(), ...(ok.hubKey ? { hubKey: ok.hubKey } : {}) } };
  } finally {
    hub.close();
  }
}
