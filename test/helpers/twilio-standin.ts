// A stand-in for Twilio's Messages API on 127.0.0.1, for the real `twilio` client pointed at it
// (the channel's api_url): POST /2010-04-01/Accounts/{Sid}/Messages.json with HTTP Basic auth and
// a form-encoded To, From or MessagingServiceSid, and Body; it answers as Twilio does, with
// Twilio's JSON error bodies and codes (20003 authentication, 21211 invalid To, 21614 not a
// mobile number, 21602/21603 missing body or sender), and can be set to rate-limit (429 with
// Retry-After) or to fail (503). Every accepted message is recorded.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

export interface StandinMessage {
  sid: string;
  accountSid: string;
  to: string;
  from?: string;
  messagingServiceSid?: string;
  body: string;
}

export type StandinMode = { kind: "normal" } | { kind: "rate-limit"; retryAfter: string } | { kind: "server-error" };

export interface TwilioStandin {
  /** http://127.0.0.1:PORT, the channel's api_url */
  readonly url: string;
  readonly accountSid: string;
  readonly authToken: string;
  readonly messages: StandinMessage[];
  /** every request's path and status, in order */
  readonly requests: { path: string; status: number }[];
  /** numbers that are valid E.164 but not mobile phones (21614) */
  readonly landlines: Set<string>;
  mode: StandinMode;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

const E164 = /^\+[1-9]\d{1,14}$/;

function twilioError(res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): number {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }));
  return status;
}

function basicAuth(req: IncomingMessage): { user: string; password: string } | undefined {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers.authorization ?? "");
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, "base64").toString("utf8");
  const colon = text.indexOf(":");
  return colon < 0 ? undefined : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

export async function startTwilioStandin(): Promise<TwilioStandin> {
  const accountSid = `AC${randomBytes(16).toString("hex")}`;
  const authToken = randomBytes(16).toString("hex");
  const messages: StandinMessage[] = [];
  const requests: { path: string; status: number }[] = [];
  const landlines = new Set<string>();
  let port = 0;
  let server: Server | undefined;

  const state = {
    mode: { kind: "normal" } as StandinMode,
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<number> {
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(path);
    if (!m || req.method !== "POST") return twilioError(res, 404, 20404, "The requested resource was not found");
    const auth = basicAuth(req);
    if (!auth || auth.user !== accountSid || auth.password !== authToken || m[1] !== accountSid) {
      return twilioError(res, 401, 20003, "Authentication Error - invalid username");
    }
    if (state.mode.kind === "rate-limit") return twilioError(res, 429, 20429, "Too Many Requests", { "retry-after": state.mode.retryAfter });
    if (state.mode.kind === "server-error") return twilioError(res, 503, 20503, "Service Unavailable");
    const form = await readForm(req);
    const to = form.get("To") ?? "";
    const from = form.get("From") ?? undefined;
    const messagingServiceSid = form.get("MessagingServiceSid") ?? undefined;
    const body = form.get("Body") ?? "";
    if (!E164.test(to)) return twilioError(res, 400, 21211, `The 'To' number ${to} is not a valid phone number.`);
    if (landlines.has(to)) return twilioError(res, 400, 21614, `'To' number ${to} is not a valid mobile number`);
    if (!from && !messagingServiceSid) return twilioError(res, 400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message");
    if (!body) return twilioError(res, 400, 21602, "Message body is required.");
    const sid = `SM${randomBytes(16).toString("hex")}`;
    messages.push({ sid, accountSid, to, from, messagingServiceSid, body });
    const now = new Date().toUTCString().replace("GMT", "+0000");
    res.writeHead(201, { "content-type": "application/json; charset=utf-8" });
    res.end(
      JSON.stringify({
        account_sid: accountSid,
        api_version: "2010-04-01",
        body,
        date_created: now,
        date_sent: null,
        date_updated: now,
        direction: "outbound-api",
        error_code: null,
        error_message: null,
        from: from ?? null,
        messaging_service_sid: messagingServiceSid ?? null,
        num_media: "0",
        price: null,
        price_unit: "USD",
        sid,
        status: "queued",
        subresource_uris: { media: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}/Media.json` },
        to,
        uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
      }),
    );
    return 201;
  }

  const start = async () => {
    const s = createServer((req, res) => {
      const path = req.url ?? "/";
      handle(req, res).then(
        (status) => requests.push({ path, status }),
        () => {
          res.statusCode = 500;
          res.end();
          requests.push({ path, status: 500 });
        },
      );
    });
    await new Promise<void>((resolve, reject) => s.once("error", reject).listen(port, "127.0.0.1", resolve));
    port = (s.address() as { port: number }).port;
    server = s;
  };
  const stop = async () => {
    const s = server;
    server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await start();

  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    accountSid,
    authToken,
    messages,
    requests,
    landlines,
    get mode() {
      return state.mode;
    },
    set mode(m: StandinMode) {
      state.mode = m;
    },
    stop,
    start,
    close: stop,
  };
}
