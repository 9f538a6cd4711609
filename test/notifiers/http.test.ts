// postJson against real servers on 127.0.0.1 and ::1 (node:http, node:https): what it sends, how
// much of a reply it reads, a deadline over the whole exchange (a reply that trickles included),
// TLS verified by default with the host named for SNI, and what it refuses before a byte is sent.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { generate } from "selfsigned";
import { afterEach, describe, expect, it } from "vitest";
import { postJson } from "../../src/notifiers/http.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

/** Listens on `host`; `handle` answers each request once its body has been read whole. */
async function listen(server: Server, host: string, handle: (res: ServerResponse) => void): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      handle(res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen({ host, port: 0 }, resolve));
  return { port: (server.address() as AddressInfo).port, seen };
}

const JSON_HEADERS = { "Content-Type": "application/json" };

describe("postJson sends", () => {
  it("one POST with the body, its byte length, the headers, the path and query, to an IPv6 literal host", async () => {
    const { port, seen } = await listen(createHttpServer(), "::1", (res) => res.writeHead(202, "Taken", { "Retry-After": "5" }).end("queued"));
    const body = JSON.stringify({ text: "Prüfung — ½" });
    const answer = await postJson(new URL(`http://[::1]:${port}/hooks/a?b=c#frag`), body, { ...JSON_HEADERS, "X-Tenant": "ledger" }, 2000);
    expect(answer).toEqual({ kind: "answer", status: 202, statusText: "Taken", retryAfter: "5", body: "queued" });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: "POST", url: "/hooks/a?b=c", body });
    expect(seen[0]!.headers).toMatchObject({ "content-type": "application/json", "x-tenant": "ledger", "content-length": String(Buffer.byteLength(body)), host: `[::1]:${port}` });
  });

  it("a redirect is an answer with its Location, not followed", async () => {
    const { port, seen } = await listen(createHttpServer(), "127.0.0.1", (res) => res.writeHead(307, { Location: `http://127.0.0.1:1/elsewhere` }).end());
    const answer = await postJson(new URL(`http://127.0.0.1:${port}/`), "{}", JSON_HEADERS, 2000);
    expect(answer).toMatchObject({ kind: "answer", status: 307, location: "http://127.0.0.1:1/elsewhere" });
    expect(seen).toHaveLength(1);
  });
});

describe("postJson reads a reply", () => {
  it("up to 4096 bytes of a body that never ends, then stops waiting", async () => {
    const { port } = await listen(createHttpServer(), "127.0.0.1", (res) => {
      res.writeHead(500);
      const tick = setInterval(() => res.write("y".repeat(1000)), 5);
      res.on("close", () => clearInterval(tick));
    });
    const started = Date.now();
    const answer = await postJson(new URL(`http://127.0.0.1:${port}/`), "{}", JSON_HEADERS, 5000);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(answer).toMatchObject({ kind: "answer", status: 500 });
    expect(answer.kind === "answer" && answer.body).toBe("y".repeat(4096));
  });

  it("within the deadline as a whole: a reply that trickles, each byte well within it, is cut at the deadline", async () => {
    const { port } = await listen(createHttpServer(), "127.0.0.1", (res) => {
      res.writeHead(503, { "Retry-After": "9" });
      const tick = setInterval(() => res.write("z"), 20);
      res.on("close", () => clearInterval(tick));
    });
    const started = Date.now();
    const answer = await postJson(new URL(`http://127.0.0.1:${port}/`), "{}", JSON_HEADERS, 400);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(answer).toMatchObject({ kind: "answer", status: 503, retryAfter: "9" });
    expect(answer.kind === "answer" && answer.body).toMatch(/^z+$/);
  });

  it("no reply at all within the deadline is worth a retry", async () => {
    const { port, seen } = await listen(createHttpServer(), "127.0.0.1", () => undefined);
    const answer = await postJson(new URL(`http://127.0.0.1:${port}/`), "{}", JSON_HEADERS, 300);
    expect(answer).toEqual({ kind: "unreachable", error: "no answer within 300 ms", retryable: true });
    expect(seen).toHaveLength(1);
  });
});

describe("postJson over TLS", () => {
  it("verifies the certificate against the default CAs, naming the host for SNI: a self-signed one is refused before the body is sent", async () => {
    const pems = await generate([{ name: "commonName", value: "localhost" }], { keyType: "ec", algorithm: "sha256", extensions: [{ name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }] }] });
    const servernames: string[] = [];
    const server = createHttpsServer({
      key: pems.private,
      cert: pems.cert,
      SNICallback: (name, done) => {
        servernames.push(name);
        done(null, undefined);
      },
    });
    const { port, seen } = await listen(server, "127.0.0.1", (res) => res.writeHead(200).end("ok"));
    const answer = await postJson(new URL(`https://localhost:${port}/hook`), "{}", JSON_HEADERS, 2000);
    expect(answer).toMatchObject({ kind: "unreachable", retryable: true });
    expect(answer.kind === "unreachable" && answer.error).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
    expect(seen).toHaveLength(0);
    expect(servernames).toEqual(["localhost"]);
  });
});

describe("postJson refuses before a byte is sent, not worth a retry", () => {
  it("credentials in the URL, without showing them", async () => {
    const { port, seen } = await listen(createHttpServer(), "127.0.0.1", (res) => res.end());
    const answer = await postJson(new URL(`http://u:pass-in-url-31@127.0.0.1:${port}/`), "{}", JSON_HEADERS, 1000);
    expect(answer).toMatchObject({ kind: "unreachable", retryable: false });
    expect(JSON.stringify(answer)).not.toContain("pass-in-url-31");
    expect(seen).toHaveLength(0);
  });

  it("a header that frames the request, or a header value with a line break, without showing the value", async () => {
    const { port, seen } = await listen(createHttpServer(), "127.0.0.1", (res) => res.end());
    const url = new URL(`http://127.0.0.1:${port}/`);
    const refused: Record<string, string>[] = [{ "content-length": "0" }, { "Transfer-Encoding": "chunked" }, { "X-Token": "tok-7a1\r\nBcc: x" }];
    for (const headers of refused) {
      const answer = await postJson(url, "{}", { ...JSON_HEADERS, ...headers }, 1000);
      expect(answer).toMatchObject({ kind: "unreachable", retryable: false });
      expect(JSON.stringify(answer)).not.toContain("tok-7a1");
    }
    expect(seen).toHaveLength(0);
  });

  it("a scheme other than http: or https:", async () => {
    expect(await postJson(new URL("ftp://127.0.0.1/x"), "{}", JSON_HEADERS, 1000)).toMatchObject({ kind: "unreachable", retryable: false });
  });
});
