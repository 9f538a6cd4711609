// The Alertmanager channel against the real Alertmanager (test/helpers/alertmanager.ts), reached
// through a reverse proxy on 127.0.0.1 that asks for HTTP basic authentication, as sites often
// put one in front of it. The proxy is how the harness breaks things without faking
// Alertmanager's answers: "unavailable" answers 503 with Retry-After as a proxy does while its
// backend restarts; "misrouted" passes the request on under a path Alertmanager does not serve,
// and relays its real 404; down() closes the proxy. What the receiver holds is every POST the
// real Alertmanager accepted (it keys alerts by their labels, so its own list cannot show a
// resend); alertmanager.test.ts reads the alerts back from Alertmanager's API.
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { AlertmanagerChannel } from "../../../src/config/types.js";
import { createChannel } from "../../../src/notifiers/alertmanager.js";
import { startAlertmanager, type RunningAlertmanager } from "../../helpers/alertmanager.js";
import { context, secretFile } from "../hooks-fixtures.js";
import { stringsOf, type ChannelHarness } from "./types.js";

type ProxyMode = "pass" | "unavailable" | "misrouted";

interface Proxy {
  port: number;
  mode: ProxyMode;
  /** the bodies of the alert posts Alertmanager answered 2xx */
  accepted: unknown[];
  close(): Promise<void>;
}

async function startProxy(backend: string, authorization: string, port: number, accepted: unknown[]): Promise<Proxy> {
  const sockets = new Set<Socket>();
  const proxy: Proxy = { port, mode: "pass", accepted, close: async () => undefined };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.headers.authorization !== authorization) return void res.writeHead(401, { "www-authenticate": 'Basic realm="alertmanager"' }).end("unauthorized");
      // a careless proxy's error page shows the request's credentials: the channel must keep them out of its errors
      const credentials = Buffer.from(authorization.slice("Basic ".length), "base64").toString("utf8");
      if (proxy.mode === "unavailable") return void res.writeHead(503, { "retry-after": "30", "content-type": "text/plain" }).end(`backend restarting; request by ${credentials} (${authorization})`);
      const path = proxy.mode === "misrouted" ? `/misrouted${req.url ?? "/"}` : (req.url ?? "/");
      const body = Buffer.concat(chunks);
      fetch(`${backend}${path}`, { method: req.method, headers: { "content-type": req.headers["content-type"] ?? "application/json" }, body: req.method === "POST" ? body : undefined })
        .then(async (answer) => {
          if (answer.ok && req.method === "POST") accepted.push(JSON.parse(body.toString("utf8")) as unknown);
          res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "text/plain" }).end(Buffer.from(await answer.arrayBuffer()));
        })
        .catch(() => res.writeHead(502).end("bad gateway"));
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen({ host: "127.0.0.1", port }, resolve));
  proxy.port = (server.address() as AddressInfo).port;
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
  const password = `am-${randomBytes(12).toString("hex")}`;
  const authorization = `Basic ${Buffer.from(`covenant:${password}`).toString("base64")}`;
  const alertmanager = await startAlertmanager();
  const accepted: unknown[] = [];
  let proxy: Proxy | undefined;
  try {
    proxy = await startProxy(alertmanager.url, authorization, 0, accepted);
  } catch (err) {
    await alertmanager.stop();
    throw err;
  }
  const port = proxy.port;
  const auth = { user: "covenant", password: secretFile(password) };
  return {
    alertmanager,
    secret: password,
    async make() {
      const config: AlertmanagerChannel = { type: "alertmanager", name: "am", url: `http://127.0.0.1:${port}`, auth, timeoutMs: 5000 };
      return createChannel(config, context(new Date()));
    },
    received: async () => [...accepted],
    shows: stringsOf,
    // Alertmanager keys an alert by its labels (the deficiency's id among them); no message id travels
    idOf: () => undefined,
    outsideText: "escaped",
    showsWholeReason: true,
    breakTemporarily: () => void (proxy!.mode = "unavailable"),
    breakPermanently: () => void (proxy!.mode = "misrouted"),
    heal: () => void (proxy!.mode = "pass"),
    async down() {
      await proxy?.close();
      proxy = undefined;
    },
    async up() {
      proxy = await startProxy(alertmanager.url, authorization, port, accepted);
    },
    async stop() {
      await proxy?.close();
      proxy = undefined;
      await alertmanager.stop();
    },
  };
}
