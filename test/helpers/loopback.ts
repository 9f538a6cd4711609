// Real TCP servers and clients on the loopback addresses, for the `connections` and
// `listener` behaviour tests: the kernel's tables then hold sockets whose ports, peers and
// owner (this test process) are known.
import { readFileSync } from "node:fs";
import { createServer, connect, type Server, type Socket } from "node:net";

export interface Loopback {
  /** listens on `host` (an ephemeral port); `ipv6Only` keeps `::` from also taking IPv4 */
  listen(host: string, ipv6Only?: boolean): Promise<number>;
  /** opens `n` connections and resolves once the server has accepted every one */
  connect(host: string, port: number, n?: number): Promise<void>;
  /** a port nothing listens on right now */
  freePort(): Promise<number>;
  close(): Promise<void>;
}

export function loopback(): Loopback {
  const servers = new Map<number, { server: Server; accepted: Socket[] }>();
  const clients: Socket[] = [];
  const waitFor = async (test: () => boolean) => {
    for (let i = 0; i < 200 && !test(); i++) await new Promise((r) => setTimeout(r, 10));
    if (!test()) throw new Error("loopback: connections were not accepted in time");
  };
  return {
    async listen(host, ipv6Only = false) {
      for (;;) {
        const server = createServer();
        const accepted: Socket[] = [];
        server.on("connection", (s) => accepted.push(s));
        await new Promise<void>((resolve, reject) => server.once("error", reject).listen({ host, port: 0, ipv6Only }, resolve));
        const port = (server.address() as { port: number }).port;
        // an IPv6-only socket and an IPv4 one can be given the same port: a test would then see
        // two listeners where it made one, so each of this helper's listeners has a port of its own
        if (servers.has(port)) {
          await new Promise((r) => server.close(r));
          continue;
        }
        servers.set(port, { server, accepted });
        return port;
      }
    },
    async connect(host, port, n = 1) {
      const entry = servers.get(port);
      const before = entry?.accepted.length ?? 0;
      for (let i = 0; i < n; i++) {
        const c = connect({ host, port });
        clients.push(c);
        await new Promise<void>((resolve, reject) => c.once("connect", resolve).once("error", reject));
      }
      if (entry) await waitFor(() => entry.accepted.length >= before + n);
    },
    freePort,
    async close() {
      for (const c of clients) c.destroy();
      for (const { server, accepted } of servers.values()) {
        for (const s of accepted) s.destroy();
        await new Promise((r) => server.close(r));
      }
    },
  };
}

/** A port on 127.0.0.1 nothing listens on right now (another program may take it before it is used). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** This process's command name as the kernel reports it (vitest may have retitled the worker). */
export function ownComm(): string {
  return readFileSync(`/proc/${process.pid}/comm`, "utf8").trim();
}
