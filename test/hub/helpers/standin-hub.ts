// A stand-in for the fleet hub (until the real one, src/hub/server, replaces it in these tests): a
// real HTTPS server on 127.0.0.1 with a certificate its own CA signed, that checks every request
// with protocol.ts's own functions (signatureHolds, pushShapeProblem, readPushedLine, chainOver)
// and answers as the protocol says. It keeps each host's lines and chain values in memory, and can
// go down and up on the same port, lose its newest records (restored from a backup), or have a
// stored line changed (so that the host's next push is a fork).
import { createHash, createPublicKey, randomUUID, type KeyObject } from "node:crypto";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { localCertificate } from "../../helpers/local-fixtures.mjs";
import { chainOver, hubChainStart, MAX_PUSH_BYTES, pushShapeProblem, readPushedLine, signatureHolds, type EnrollBody, type PushBody } from "../../../src/hub/protocol.ts";

interface HostRecords {
  name: string;
  key: KeyObject;
  lines: string[];
  /** chain value after each line */
  chains: string[];
}

/** A CA certificate for 127.0.0.1 and its key: the server's certificate is its own issuer. */
export function certificate(): Promise<{ key: string; cert: string }> {
  return localCertificate({ commonName: "covenant test hub" });
}

export class StandinHub {
  readonly tokens = new Set<string>();
  readonly hosts = new Map<string, HostRecords>();
  /** every request's path and status, in order */
  readonly log: { path: string; status: number; records?: number }[] = [];
  /** answer every push with this status (503: the database is down) and body */
  failWith: number | undefined;
  failBody: unknown = { error: "the database is down" };
  private server: Server;
  port = 0;

  private constructor(readonly tls: { key: string; cert: string }) {
    this.server = this.make();
  }

  static async start(): Promise<StandinHub> {
    const hub = new StandinHub(await certificate());
    await hub.up();
    return hub;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  private make(): Server {
    return createServer({ key: this.tls.key, cert: this.tls.cert }, (req, res) => {
      const parts: Buffer[] = [];
      let size = 0;
      req.on("data", (c: Buffer) => {
        size += c.length;
        if (size <= MAX_PUSH_BYTES + 1024) parts.push(c);
      });
      req.on("end", () => {
        const [status, body] = size > MAX_PUSH_BYTES ? [413, { error: "too large" }] : this.answer(req.url ?? "", req.headers, Buffer.concat(parts));
        this.log.push({ path: req.url ?? "", status, ...(req.url === "/v1/push" && status === 200 ? { records: (JSON.parse(Buffer.concat(parts).toString()) as PushBody).records.length } : {}) });
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      });
    });
  }

  private answer(path: string, headers: Record<string, string | string[] | undefined>, bytes: Buffer): [number, unknown] {
    if (path === "/v1/enroll") return this.enroll(bytes, headers["covenant-signature"] as string | undefined);
    if (path === "/v1/push") return this.failWith !== undefined ? [this.failWith, this.failBody] : this.push(bytes, headers);
    return [404, { error: "no such endpoint" }];
  }

  private enroll(bytes: Buffer, signature: string | undefined): [number, unknown] {
    const b = JSON.parse(bytes.toString("utf8")) as EnrollBody;
    // the real hub's rules (src/hub/server/enroll.ts): tokens of 16 characters or more, names as hosts have them, one enrolment per key
    if (b.token.length < 16 || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(b.name)) return [400, { status: "error", message: "malformed enrolment" }];
    const raw = Buffer.from(b.publicKey, "base64");
    const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
    if (!signatureHolds(bytes, signature, key)) return [401, { status: "error", message: "the enrolment is not signed by the key it registers" }];
    if (!this.tokens.delete(b.token)) return [401, { status: "error", message: "the enrolment token is not one this hub made" }];
    if ([...this.hosts.values()].some((h) => h.key.equals(key))) return [409, { status: "error", message: "this key is enrolled already" }];
    const host = randomUUID();
    this.hosts.set(host, { name: b.name, key, lines: [], chains: [] });
    return [201, { status: "enrolled", host, name: b.name, fingerprint: `ed25519:${createHash("sha256").update(raw).digest("hex").slice(0, 32)}` }];
  }

  private push(bytes: Buffer, headers: Record<string, string | string[] | undefined>): [number, unknown] {
    const h = this.hosts.get(String(headers["covenant-host"]));
    if (!h) return [401, { error: "unknown host" }];
    if (!signatureHolds(bytes, headers["covenant-signature"] as string | undefined, h.key)) return [401, { error: "bad signature" }];
    const body = JSON.parse(bytes.toString("utf8")) as PushBody;
    const shape = pushShapeProblem(body);
    if (shape || body.host !== headers["covenant-host"]) return [400, { error: shape ?? "host differs from its header" }];
    const start = hubChainStart(body.host).toString("hex");
    const holds = () => (h.lines.length === 0 ? null : { seq: h.lines.length, chain: h.chains.at(-1)! });
    const refuse = (reason: string, message: string, seq?: number): [number, unknown] => [409, { status: "refused", reason, message, holds: holds(), ...(seq !== undefined ? { seq } : {}) }];
    if (body.head && body.head.seq < h.lines.length) return refuse("rollback", `the host's head ${body.head.seq} is below record ${h.lines.length}, which it sent`);
    if (body.after.seq > h.lines.length) return refuse("gap", `the hub holds records up to ${h.lines.length}, not ${body.after.seq}`);
    if ((body.after.seq === 0 ? start : h.chains[body.after.seq - 1]) !== body.after.chain) return refuse("fork", `the chain before record ${body.after.seq + 1} is not the hub's`, body.after.seq);
    if (chainOver(Buffer.from(body.after.chain, "hex"), body.records).toString("hex") !== body.chain) return [400, { error: "the chain does not follow the records" }];
    let stored = 0;
    let chain: Buffer = Buffer.from(body.after.chain, "hex");
    for (const [i, line] of body.records.entries()) {
      const r = readPushedLine(line);
      const seq = body.after.seq + i + 1;
      if ("problem" in r || r.seq !== seq) return [400, { error: `record ${i} ${"problem" in r ? r.problem : "is out of order"}` }];
      chain = chainOver(chain, [line]);
      if (seq <= h.lines.length) {
        if (h.lines[seq - 1] !== line) return refuse("fork", `record ${seq} is not the one the host sent before`, seq);
        continue;
      }
      h.lines.push(line);
      h.chains.push(chain.toString("hex"));
      stored++;
    }
    const now = new Date();
    return [200, { status: "accepted", holds: holds() ?? { seq: 0, chain: start }, stored, receivedAt: now.toISOString(), clockSkewMs: Date.parse(body.sentAt) - now.getTime() }];
  }

  /** The hub restored from a backup: it holds only its first `n` records of `host`. */
  lose(host: string, n: number): void {
    const h = this.hosts.get(host)!;
    h.lines.length = n;
    h.chains.length = n;
  }

  async down(): Promise<void> {
    const s = this.server;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  async up(): Promise<void> {
    this.server = this.make();
    await new Promise<void>((resolve) => this.server.listen(this.port, "127.0.0.1", () => resolve()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    if (this.server.listening) await this.down();
  }
}
