// One signed POST to the hub over HTTPS, trusting only the hub's CA (tls.ts httpsAgentFor: the `ca`
// option replaces the system's CAs, so a certificate any public CA issued for the name is not the hub's), with a time
// limit on the whole exchange and a cap on the answer read. What comes back is the status and the
// answer parsed as JSON, or why there was no answer: the caller decides what each means.
import { request, type Agent } from "node:https";
import { httpsAgentFor } from "../tls.js";

/** How long one exchange may take, connection included. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** The most bytes of an answer read: the hub's answers are a few hundred bytes. */
export const MAX_ANSWER_BYTES = 64 * 1024;

export type Exchange =
  | { kind: "answer"; status: number; body: unknown; text: string }
  /** no answer: the network, a time limit, or TLS (`untrusted`: the certificate is not the hub CA's, or not for this name) */
  | { kind: "none"; why: string; untrusted?: true };

/** TLS errors that say the certificate was not one the CA given signed for this name. */
const CERTIFICATE_ERRORS = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "HOSTNAME_MISMATCH",
]);

/** A connection pool to one hub, trusting only `ca`; `close` ends its sockets so the process can exit. */
export class HubConnection {
  private readonly agent: Agent;

  /** HubTlsError when `ca` holds no CA certificate (the hub's own certificate given instead of its CA). */
  constructor(
    readonly base: string,
    ca: string,
    caFile?: string,
  ) {
    this.agent = httpsAgentFor(Buffer.from(ca), caFile);
  }

  /** POSTs `bytes` to `path` under the hub's address with `headers`; ends by `deadline` (ms since the epoch) at the latest. */
  post(path: string, bytes: Buffer, headers: Record<string, string>, deadline = Date.now() + REQUEST_TIMEOUT_MS, signal?: AbortSignal): Promise<Exchange> {
    const url = new URL(path.replace(/^\//, ""), this.base.endsWith("/") ? this.base : `${this.base}/`);
    const limit = Math.max(1, Math.min(REQUEST_TIMEOUT_MS, deadline - Date.now()));
    return new Promise((resolve) => {
      let done = false;
      const finish = (e: Exchange) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve(e);
      };
      const req = request(url, { method: "POST", agent: this.agent, headers: { "content-type": "application/json", "content-length": String(bytes.length), ...headers } }, (res) => {
        const parts: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER_BYTES) {
            req.destroy();
            finish({ kind: "answer", status: res.statusCode ?? 0, body: undefined, text: `(an answer of more than ${MAX_ANSWER_BYTES} bytes, not read)` });
            return;
          }
          parts.push(c);
        });
        res.on("end", () => {
          const text = Buffer.concat(parts).toString("utf8");
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          finish({ kind: "answer", status: res.statusCode ?? 0, body, text });
        });
        res.on("error", (err) => finish({ kind: "none", why: describe(err) }));
      });
      const timer = setTimeout(() => {
        finish({ kind: "none", why: `no answer within ${Math.round(limit / 100) / 10} s` });
        req.destroy();
      }, limit);
      const onAbort = () => {
        finish({ kind: "none", why: "stopped: the time allowed for the push ran out" });
        req.destroy();
      };
      signal?.addEventListener("abort", onAbort);
      req.on("error", (err: NodeJS.ErrnoException) => finish({ kind: "none", why: describe(err), ...(CERTIFICATE_ERRORS.has(err.code ?? "") ? { untrusted: true as const } : {}) }));
      req.end(bytes);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function describe(err: NodeJS.ErrnoException): string {
  if (CERTIFICATE_ERRORS.has(err.code ?? "")) return `its certificate is not one the hub's CA signed for this address (${err.code})`;
  return err.code ? `${err.code}${err.syscall ? ` (${err.syscall})` : ""}` : err.message;
}
