// The Alertmanager channel against the real Alertmanager (test/helpers/alertmanager.ts), reached
// through a small reverse proxy on 127.0.0.1, as sites often put one in front of it. The proxy is
// how the harness breaks things without faking Alertmanager's answers: "unavailable" answers 503
// with Retry-After as a proxy does while its backend restarts; "misrouted" passes the request on
// under a path Alertmanager does not serve, and relays its real 404; takeDown closes the proxy.
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { AlertmanagerChannel } from "../../../src/config/types.js";
import { createAlertmanagerChannel } from "../../../src/notifiers/alertmanager.js";
import { startAlertmanager, type RunningAlertmanager } from "../../helpers/alertmanager.js";
import { context } from "../hooks-fixtures.js";
import type { ChannelHarness } from "./types.js";

type ProxyMode = "pass" | "unavailable" | "misrouted";

interface Proxy {
  url: string;
  mode: ProxyMode;
  close(): Promise<void>;
}

async function startProxy(backend: string): Promise<Proxy> {
  const sockets = new Set<Socket>();
  const proxy: Proxy = { url: "", mode: "pass", close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (proxy.mode === "unavailable") {
        res.writeHead(503, { "retry-after": "30", "content-type": "text/plain" }).end("backend restarting");
        return;
      }
      const path = proxy.mode === "misrouted" ? `/misrouted${req.url ?? "/"}` : (req.url ?? "/");
      const body = req.method === "GET" || req.method === "HEAD" ? undefined : Buffer.concat(chunks);
      fetch(`${backend}${path}`, { method: req.method, headers: { "content-type": req.headers["content-type"] ?? "application/json" }, body })
        .then(async (answer) => res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "text/plain" }).end(Buffer.from(await answer.arrayBuffer())))
        .catch(() => res.writeHead(502).end("bad gateway"));
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen({ host: "127.0.0.1", port: 0 }, resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  };
  return proxy;
}

export interface AlertmanagerHarness extends ChannelHarness {
  alertmanager: RunningAlertmanager;
}

export async function alertmanagerHarness(): Promise<AlertmanagerHarness> {
  const alertmanager = await startAlertmanager();
  let proxy: Proxy | undefined;
  try {
    proxy = await startProxy(alertmanager.url);
  } catch (err) {
    await alertmanager.stop();
    throw err;
  }
  return {
    alertmanager,
    // the channel has no secret: the check that errors hold none holds trivially for it
    secret: "",
    async make() {
      proxy ??= await startProxy(alertmanager.url);
      proxy.mode = "pass";
      const config: AlertmanagerChannel = { type: "alertmanager", name: "am", url: proxy.url, timeoutMs: 5000 };
      return createAlertmanagerChannel(config, context(new Date()));
    },
    received: () => alertmanager.alerts(),
    async breakTemporarily() {
      proxy!.mode = "unavailable";
    },
    async breakPermanently() {
      proxy!.mode = "misrouted";
    },
    async takeDown() {
      await proxy?.close();
      proxy = undefined;
    },
    async stop() {
      await proxy?.close();
      proxy = undefined;
      await alertmanager.stop();
    },
  };
}
