// A webhook receiver on 127.0.0.1 (an ephemeral port) that does what a receiver should: it
// verifies X-Covenant-Signature with the shared secret, in constant time, and records what it was
// sent. `mode` makes it fail the ways receivers fail: 500, 429 with Retry-After, 400, a redirect,
// or no answer at all (slow) until the client gives up.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  signatureValid: boolean;
  /** the status it answered with (undefined: none, in the slow mode) */
  answered?: number;
}

export type ReceiverMode = "ok" | "500" | "429" | "400" | "302" | "slow";

export interface WebhookReceiver {
  url: string;
  port: number;
  received: Received[];
  mode: ReceiverMode;
  /** the Retry-After the 429 mode answers with, in seconds */
  retryAfterSeconds: number;
  /** what the failure modes put in their reply's body (a receiver's words, echoed cut and escaped) */
  replyBody: string;
  stop(): Promise<void>;
}

/** As docs/channels/webhook.md tells receivers to verify: HMAC-SHA256 over `${timestamp}.${body}`, compared in constant time. */
export function verifySignature(secret: string, headers: IncomingHttpHeaders, body: string): boolean {
  const timestamp = headers["x-covenant-timestamp"];
  const signature = headers["x-covenant-signature"];
  if (typeof timestamp !== "string" || typeof signature !== "string") return false;
  const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Listens on `port` (0: an ephemeral one; another: the same address again after stop()). */
export async function startWebhookReceiver(secret: string, port = 0): Promise<WebhookReceiver> {
  const sockets = new Set<Socket>();
  const receiver: WebhookReceiver = { url: "", port: 0, received: [], mode: "ok", retryAfterSeconds: 7, replyBody: "receiver says no", stop: async () => undefined };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const received: Received = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body, signatureValid: verifySignature(secret, req.headers, body) };
      receiver.received.push(received);
      answer(receiver, res);
      if (receiver.mode !== "slow") received.answered = res.statusCode;
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen({ host: "127.0.0.1", port }, resolve));
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}/hooks/covenant?token=path-secret`;
  receiver.stop = async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  };
  return receiver;
}

function answer(receiver: WebhookReceiver, res: ServerResponse): void {
  switch (receiver.mode) {
    case "ok":
      res.writeHead(204).end();
      return;
    case "500":
      res.writeHead(500, { "content-type": "text/plain" }).end(receiver.replyBody);
      return;
    case "429":
      res.writeHead(429, { "retry-after": String(receiver.retryAfterSeconds), "content-type": "text/plain" }).end(receiver.replyBody);
      return;
    case "400":
      res.writeHead(400, { "content-type": "text/plain" }).end(receiver.replyBody);
      return;
    case "302":
      res.writeHead(302, { location: "http://moved.example.net/elsewhere?token=x" }).end();
      return;
    case "slow":
      // no answer: the socket is destroyed by stop(), or by the client when it gives up
      return;
  }
}
