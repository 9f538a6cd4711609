// An HTTP server on 127.0.0.1 for the HTTP channels' test receivers (the webhook receiver, the
// proxy in front of Alertmanager): each request's body read whole before the handler sees it,
// and a stop() that ends open connections at once, a request left unanswered among them (a
// keep-alive or waiting socket would otherwise hold close() until it times out).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface HttpListener {
  port: number;
  stop(): Promise<void>;
}

/** Listens on `port` (0: an ephemeral one; another: the same address again after stop()). */
export async function listenHttp(handle: (req: IncomingMessage, body: Buffer, res: ServerResponse) => void, port = 0): Promise<HttpListener> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handle(req, Buffer.concat(chunks), res));
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen({ host: "127.0.0.1", port }, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    async stop() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
