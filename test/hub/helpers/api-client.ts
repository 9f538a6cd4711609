// A person's requests to the hub's /api/, over real HTTPS trusting only the test certificate:
// the session cookie as a browser keeps it, the CSRF token, or a bearer API token.
import { request } from "node:https";

export interface ApiReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: Record<string, unknown>;
}

export interface ApiRequest {
  method: string;
  path: string;
  json?: unknown;
  form?: Record<string, string>;
  cookie?: string;
  csrf?: string;
  bearer?: string;
  headers?: Record<string, string>;
}

export function api(url: string, ca: string, r: ApiRequest): Promise<ApiReply> {
  const headers: Record<string, string> = { ...(r.headers ?? {}) };
  let bytes: Buffer | undefined;
  if (r.json !== undefined) {
    bytes = Buffer.from(JSON.stringify(r.json));
    headers["content-type"] = "application/json";
  } else if (r.form) {
    bytes = Buffer.from(new URLSearchParams(r.form).toString());
    headers["content-type"] = "application/x-www-form-urlencoded";
  }
  if (bytes) headers["content-length"] = String(bytes.length);
  if (r.cookie) headers["cookie"] = r.cookie;
  if (r.csrf) headers["x-csrf-token"] = r.csrf;
  if (r.bearer) headers["authorization"] = `Bearer ${r.bearer}`;
  return new Promise((resolve, reject) => {
    const req = request(new URL(r.path, url), { method: r.method, ca, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          body = {};
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
      });
    });
    req.on("error", reject);
    req.end(bytes);
  });
}

/** The `name=value` of the session cookie a reply sets (what a browser would send back), or undefined. */
export function sessionCookieOf(reply: ApiReply): string | undefined {
  const set = reply.headers["set-cookie"];
  const lines = Array.isArray(set) ? set : set ? [set] : [];
  const line = lines.find((l) => l.startsWith("__Host-covenant_session="));
  const pair = line?.split(";")[0];
  return pair && pair !== "__Host-covenant_session=" ? pair : undefined;
}

export interface Session {
  cookie: string;
  csrf: string;
}

export async function login(url: string, ca: string, user: string, password: string): Promise<Session> {
  const r = await api(url, ca, { method: "POST", path: "/api/login", json: { user, password } });
  const cookie = sessionCookieOf(r);
  if (r.status !== 200 || !cookie) throw new Error(`login as ${user} failed: ${r.status} ${r.text}`);
  return { cookie, csrf: String(r.body["csrfToken"]) };
}
