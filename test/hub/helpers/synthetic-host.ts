// A host as the hub sees it, made up in the test: an Ed25519 key, records as a store's extract
// would give them, and pushes built and signed with protocol.ts, sent over real HTTPS. The hub's
// tests use it to say exactly what a host sends (a fork, a rollback, a replay); the tests of
// real `covenant` processes pushing to the hub are in test/hub/fleet.test.ts.
import { createHash, generateKeyPairSync, type KeyObject } from "node:crypto";
import { request } from "node:https";
import { rawPublicKey } from "../../../src/store/signing-key.js";
import { encodeBody, hubChainNext, hubChainStart, PROTOCOL, PROTOCOL_VERSION, signBody, type EnrollBody, type PushBody } from "../../../src/hub/protocol.js";

export interface HttpReply {
  status: number;
  body: Record<string, unknown>;
}

/** POSTs bytes to the hub, trusting only its certificate. */
export function post(url: string, path: string, bytes: Buffer, headers: Record<string, string>, ca: string): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { method: "POST", ca, headers: { "content-type": "application/json", "content-length": String(bytes.length), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          body = { text };
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on("error", reject);
    req.end(bytes);
  });
}

export function recordLine(seq: number, opts: { kind?: string; run?: number; time?: string; note?: string } = {}): string {
  const kind = opts.kind ?? "run";
  const body = kind === "prune" ? { cut: { seq: Number(opts.note ?? 0), run: 1 } } : { n: seq, note: opts.note ?? "" };
  const mac = createHash("sha256").update(`mac ${seq} ${opts.note ?? ""}`).digest("hex");
  return JSON.stringify({ seq, kind, run: opts.run ?? seq, time: opts.time ?? new Date(Date.UTC(2026, 11, 6, 0, 0, seq)).toISOString(), body, mac });
}

export class SyntheticHost {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  id = "";
  lines: string[] = [];

  constructor(readonly name = "web-01") {
    const pair = generateKeyPairSync("ed25519");
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey;
  }

  enrollBytes(token: string, sentAt = new Date()): { bytes: Buffer; signature: string } {
    const body: EnrollBody = { protocol: PROTOCOL, version: PROTOCOL_VERSION, kind: "enroll", token, name: this.name, publicKey: rawPublicKey(this.publicKey).toString("base64"), sentAt: sentAt.toISOString() };
    const bytes = encodeBody(body);
    return { bytes, signature: signBody(bytes, this.privateKey) };
  }

  async enroll(url: string, ca: string, token: string): Promise<HttpReply> {
    const { bytes, signature } = this.enrollBytes(token);
    const r = await post(url, "/v1/enroll", bytes, { "covenant-signature": signature }, ca);
    if (r.status === 201) this.id = String(r.body["host"]);
    return r;
  }

  /** Appends records numbered on from the last (or `seqs` given). */
  grow(n: number, note = ""): void {
    const start = this.lines.length ? (JSON.parse(this.lines.at(-1)!) as { seq: number }).seq : 0;
    for (let i = 1; i <= n; i++) this.lines.push(recordLine(start + i, { note }));
  }

  /** The chain value after the first `count` lines. */
  chainAfter(count: number): Buffer {
    let c = hubChainStart(this.id);
    for (const l of this.lines.slice(0, count)) c = hubChainNext(c, l);
    return c;
  }

  /** A push of lines [from, to) (indexes into `lines`), with the head the host's last line unless given. */
  pushBody(from: number, to: number, opts: { head?: number | null; sentAt?: Date; prunedTo?: number } = {}): PushBody {
    const seqOf = (i: number): number => (JSON.parse(this.lines[i]!) as { seq: number }).seq;
    const headSeq = opts.head === undefined ? (this.lines.length ? seqOf(this.lines.length - 1) : null) : opts.head;
    return {
      protocol: PROTOCOL,
      version: PROTOCOL_VERSION,
      kind: "push",
      host: this.id,
      sentAt: (opts.sentAt ?? new Date()).toISOString(),
      key: "ed25519:test",
      after: { seq: from === 0 ? 0 : seqOf(from - 1), chain: this.chainAfter(from).toString("hex") },
      records: this.lines.slice(from, to),
      chain: this.chainAfter(to).toString("hex"),
      head: headSeq === null ? null : { seq: headSeq, mac: "00".repeat(32) },
      ...(opts.prunedTo !== undefined ? { prunedTo: opts.prunedTo } : {}),
    };
  }

  signed(body: PushBody): { bytes: Buffer; headers: Record<string, string> } {
    const bytes = encodeBody(body);
    return { bytes, headers: { "covenant-host": this.id, "covenant-signature": signBody(bytes, this.privateKey) } };
  }

  async push(url: string, ca: string, from: number, to: number, opts: { head?: number | null; sentAt?: Date; prunedTo?: number } = {}): Promise<HttpReply> {
    const { bytes, headers } = this.signed(this.pushBody(from, to, opts));
    return post(url, "/v1/push", bytes, headers, ca);
  }
}
