// The receivers bench/notify delivers to, all on 127.0.0.1: a real SMTP server (smtp-server),
// a stand-in for Twilio's Messages API (the real twilio client is pointed at it), and a webhook
// receiver. Each records when every message arrived, so the benchmark can time the last one.
import { createServer } from "node:http";
import { SMTPServer } from "smtp-server";

export async function startSmtp() {
  const received = [];
  const server = new SMTPServer({
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, callback) {
      const chunks = [];
      stream.on("data", (c) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const header = raw.slice(0, raw.indexOf("\r\n\r\n"));
        received.push({ at: Date.now(), to: session.envelope.rcptTo.map((r) => r.address), messageId: /^Message-ID:\s*(.+)$/im.exec(header)?.[1]?.trim(), subject: /^Subject:\s*(.+)$/im.exec(header)?.[1]?.trim() });
        callback();
      });
    },
  });
  await new Promise((res) => server.listen(0, "127.0.0.1", res));
  return { port: server.server.address().port, received, stop: () => new Promise((res) => server.close(res)) };
}

function httpReceiver(handle) {
  const received = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => handle(req, Buffer.concat(chunks).toString("utf8"), res, received));
  });
  return new Promise((res) => server.listen(0, "127.0.0.1", () => res({ port: server.address().port, received, stop: () => new Promise((r) => server.close(r)) })));
}

/** Twilio's Messages API, as much as the client uses to send one message. */
export function startTwilio() {
  let n = 0;
  return httpReceiver((req, body, res, received) => {
    const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(req.url ?? "");
    if (req.method !== "POST" || !m) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ code: 20404, message: "not found", status: 404 }));
      return;
    }
    const form = new URLSearchParams(body);
    const sid = `SM${(++n).toString(16).padStart(32, "0")}`;
    received.push({ at: Date.now(), to: form.get("To"), body: form.get("Body") });
    res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify({ sid, account_sid: m[1], to: form.get("To"), from: form.get("From"), body: form.get("Body"), status: "queued", num_segments: "1", date_created: new Date().toUTCString(), uri: `/2010-04-01/Accounts/${m[1]}/Messages/${sid}.json` }));
  });
}

export function startWebhook() {
  return httpReceiver((req, body, res, received) => {
    let count = 0;
    try {
      count = JSON.parse(body).deficiencies.length;
    } catch {
      /* counted as 0 */
    }
    received.push({ at: Date.now(), id: req.headers["x-covenant-id"], deficiencies: count });
    res.writeHead(204).end();
  });
}
