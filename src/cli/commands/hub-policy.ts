// `covenant hub publish DIR`, `hub approve ID`, `hub reject ID`: a policy author or approver, from
// their own machine, with an API token of theirs (`covenant hub user token`), over HTTPS to the hub,
// trusting only the hub's CA. The hub checks the policy as `covenant check` would and answers every
// error; they are printed as `check` prints them (file:line:col, code, message), escaped.
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { readSecretFile } from "../../config/files.js";
import { HubConnection } from "../../hub/client/http.js";
import { MAX_POLICY_BYTES, type PolicyFileText, type PolicyProblem } from "../../hub/policy/check.js";
import { escapeText } from "../escape.js";
import { EXIT } from "../exit-codes.js";
import type { Io } from "../io.js";

export interface HubClientOptions {
  hub: string;
  ca: string;
  tokenFile?: string;
  json: boolean;
}

/** The `.promise` files under `dir`, with paths relative to it; a problem string when it cannot be read. */
export function policyFilesIn(dir: string): PolicyFileText[] | string {
  const files: PolicyFileText[] = [];
  let bytes = 0;
  const walk = (d: string): string | undefined => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch (err) {
      return `${d}: ${(err as Error).message}`;
    }
    for (const name of names) {
      if (name.startsWith(".")) continue;
      const path = join(d, name);
      const st = lstatSync(path);
      if (st.isDirectory()) {
        const bad = walk(path);
        if (bad) return bad;
      } else if (st.isFile() && name.endsWith(".promise")) {
        bytes += st.size;
        if (bytes > MAX_POLICY_BYTES) return `${dir}: the policy is larger than the ${MAX_POLICY_BYTES / 1024 / 1024} MiB a version may be`;
        files.push({ path: relative(dir, path).split(sep).join("/"), text: readFileSync(path, "utf8") });
      }
    }
    return undefined;
  };
  const bad = walk(dir);
  if (bad) return bad;
  return files.length ? files : `${dir}: holds no .promise file`;
}

function tokenOf(opts: HubClientOptions, io: Io, command: string): string | undefined {
  const fromEnv = process.env["COVENANT_HUB_TOKEN"];
  if (opts.tokenFile) {
    const r = readSecretFile(opts.tokenFile, process.getuid?.() === 0);
    if ("code" in r) {
      io.err(`covenant hub ${command}: ${escapeText(r.message)}`);
      return undefined;
    }
    return r.text.trim();
  }
  if (fromEnv) return fromEnv.trim();
  io.err(`covenant hub ${command}: give an API token with --token-file FILE or COVENANT_HUB_TOKEN (covenant hub user token makes one)`);
  return undefined;
}

async function call(opts: HubClientOptions, io: Io, command: string, path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> } | number> {
  const token = tokenOf(opts, io, command);
  if (token === undefined) return EXIT.policyError;
  let ca: string;
  try {
    ca = readFileSync(opts.ca, "utf8");
  } catch (err) {
    io.err(`covenant hub ${command}: ${escapeText(opts.ca)}: ${escapeText((err as Error).message)}`);
    return EXIT.policyError;
  }
  let conn: HubConnection;
  try {
    conn = new HubConnection(opts.hub, ca, opts.ca);
  } catch (err) {
    io.err(`covenant hub ${command}: ${escapeText((err as Error).message)}`);
    return EXIT.policyError;
  }
  try {
    const bytes = Buffer.from(JSON.stringify(body), "utf8");
    const answer = await conn.post(path, bytes, { authorization: `Bearer ${token}` }, Date.now() + 60_000);
    if (answer.kind === "none") {
      io.err(`covenant hub ${command}: no answer from the hub: ${escapeText(answer.why)}`);
      return EXIT.hubUnreachable;
    }
    return { status: answer.status, body: (typeof answer.body === "object" && answer.body !== null ? answer.body : {}) as Record<string, unknown> };
  } finally {
    conn.close();
  }
}

function problemLine(p: PolicyProblem): string {
  return `${escapeText(p.file)}:${p.line}:${p.col}: error ${escapeText(p.code)}: ${escapeText(p.message)}${p.suggestion ? `\n  help: ${escapeText(p.suggestion)}` : ""}`;
}

export async function runHubPublish(dir: string, opts: HubClientOptions & { message?: string; group?: string }, io: Io): Promise<number> {
  if (!opts.message) {
    io.err("covenant hub publish: --message is required (what changed and why: it is kept with the version and in the hub's audit log)");
    return EXIT.policyError;
  }
  const files = policyFilesIn(dir);
  if (typeof files === "string") {
    io.err(`covenant hub publish: ${escapeText(files)}`);
    return EXIT.policyError;
  }
  const r = await call(opts, io, "publish", "/api/policies", { files, message: opts.message, ...(opts.group ? { group: opts.group } : {}) });
  if (typeof r === "number") return r;
  if (opts.json) io.out(JSON.stringify(r.body, null, 2));
  if (r.status === 422) {
    if (!opts.json) for (const p of (r.body["problems"] ?? []) as PolicyProblem[]) io.err(problemLine(p));
    io.err(`covenant hub publish: ${escapeText(String(r.body["message"] ?? "the policy has errors"))}`);
    return EXIT.policyError;
  }
  if (r.status !== 201) {
    io.err(`covenant hub publish: the hub answered ${r.status}: ${escapeText(String(r.body["message"] ?? ""))}`);
    return r.status >= 500 ? EXIT.hubUnreachable : EXIT.hubRefused;
  }
  const v = r.body["version"] as { id: number; status: string; content: string };
  if (!opts.json) io.out(`published policy version ${v.id} (${files.length} file${files.length === 1 ? "" : "s"}, content ${v.content.slice(0, 12)}): ${v.status === "approved" ? "in force" : "waiting for another person's approval"}`);
  return EXIT.ok;
}

export async function runHubDecide(id: string, decision: "approve" | "reject", opts: HubClientOptions & { reason?: string }, io: Io): Promise<number> {
  if (!/^[1-9][0-9]{0,15}$/.test(id)) {
    io.err(`covenant hub ${decision}: ${escapeText(JSON.stringify(id))} is not a policy version's number`);
    return EXIT.policyError;
  }
  const r = await call(opts, io, decision, `/api/policies/${id}/${decision}`, opts.reason ? { reason: opts.reason } : {});
  if (typeof r === "number") return r;
  if (r.status !== 200) {
    io.err(`covenant hub ${decision}: the hub answered ${r.status}: ${escapeText(String(r.body["message"] ?? ""))}`);
    return r.status >= 500 ? EXIT.hubUnreachable : EXIT.hubRefused;
  }
  if (opts.json) io.out(JSON.stringify(r.body, null, 2));
  else io.out(`policy version ${id} ${decision === "approve" ? "approved: signed by the hub and in force" : "rejected"}`);
  return EXIT.ok;
}
