// The channels as they ship: bundled by esbuild with the options of scripts/build.mjs (nodemailer
// and the parts of twilio the SMS channel uses inside the bundle, in chunks of their own), the
// registry's static imports reach neither library (they load only when a channel is made), and
// a channel made from the bundle delivers to the real test receivers.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build, type BuildOptions, type Metafile } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as Registry from "../../src/notifiers/registry.js";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server.js";
import { startTwilioStandin, type TwilioStandin } from "../helpers/twilio-standin.js";
import { testContext } from "./context.js";
import { message } from "./messages.js";

const repo = resolve(import.meta.dirname, "../..");
// inside the repository, so that the bundle finds node_modules as dist/ does
const scratch = join(repo, ".scratch");
let out: string;
let metafile: Metafile;
let registry: typeof Registry;
let smtp: TestSmtpServer;
let standin: TwilioStandin;

beforeAll(async () => {
  const { bundleOptions } = (await import(pathToFileURL(join(repo, "scripts/bundle-options.mjs")).href)) as { bundleOptions: BuildOptions };
  mkdirSync(scratch, { recursive: true });
  out = mkdtempSync(join(scratch, "notifier-bundle-"));
  const result = await build({ ...bundleOptions, entryPoints: { registry: join(repo, "src/notifiers/registry.ts") }, outdir: out, splitting: true, chunkNames: "chunks/[name]-[hash]", metafile: true, logLevel: "error" });
  metafile = result.metafile;
  registry = (await import(pathToFileURL(join(out, "registry.js")).href)) as typeof Registry;
  smtp = await startSmtpServer();
  standin = await startTwilioStandin();
}, 60_000);

afterAll(async () => {
  await smtp?.close();
  await standin?.close();
  if (out) rmSync(out, { recursive: true, force: true });
});

/** Every module path an output reaches through static imports, itself included. */
function staticClosure(output: string): Set<string> {
  const seen = new Set<string>();
  const visit = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const i of metafile.outputs[path]?.imports ?? []) if (i.kind === "import-statement") visit(i.path);
  };
  visit(output);
  return seen;
}

describe("the bundled channels", () => {
  it("hold nodemailer and twilio's Messages resource in chunks reached only through a dynamic import", () => {
    const entry = Object.keys(metafile.outputs).find((p) => p.endsWith("/registry.js"))!;
    const eager = staticClosure(entry);
    for (const lib of ["nodemailer", "twilio"]) {
      const inputOf = (p: string) => new RegExp(`node_modules/${lib}/`).test(p);
      expect(Object.keys(metafile.inputs).some(inputOf), `${lib} is bundled`).toBe(true);
      const holders = Object.entries(metafile.outputs).filter(([, o]) => Object.keys(o.inputs).some(inputOf));
      expect(holders.length, `${lib} is in some chunk`).toBeGreaterThan(0);
      for (const [path] of holders) expect(eager.has(path), `${path} is loaded eagerly`).toBe(false);
    }
    // twilio's default HTTP client (axios and the rest) and its product domains are not: the
    // channel sends through its own client, to the Messages resource alone
    const inputs = Object.keys(metafile.inputs);
    expect(inputs.filter((p) => /node_modules\/(axios|form-data|jsonwebtoken|https-proxy-agent|qs)\//.test(p))).toEqual([]);
    expect(inputs.filter((p) => /twilio\/lib\/base\/RequestClient\.js$|twilio\/lib\/rest\/(Twilio|Api|Messaging)\.js$|twilio\/lib\/rest\/api\/v2010\/account\.js$/.test(p))).toEqual([]);
    expect(inputs.filter((p) => /node_modules\/twilio\//.test(p)).length).toBeLessThan(30);
    // nothing is external but the native addon
    const externals = Object.values(metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external && !i.path.startsWith("node:")).map((i) => i.path));
    expect([...new Set(externals)].filter((p) => p !== "better-sqlite3" && !builtinModules.includes(p))).toEqual([]);
  });

  it("make an email channel that delivers over STARTTLS", async () => {
    const pass = join(out, "smtp.pass");
    writeFileSync(pass, smtp.password);
    const c = await registry.makeChannel(
      { type: "email", name: "mail", host: "127.0.0.1", port: smtp.port, tls: "starttls", caFile: smtp.caFile, auth: { user: smtp.user, password: { file: pass } }, from: "covenant@example.com", timeoutMs: 3000 },
      testContext(),
    );
    expect(await c.send(message())).toMatchObject({ ok: true });
    await c.close();
    expect(smtp.messages).toHaveLength(1);
  });

  it("make a twilio channel that delivers to the stand-in", async () => {
    process.env["COVENANT_BUNDLE_TWILIO_TOKEN"] = standin.authToken;
    try {
      const c = await registry.makeChannel(
        { type: "twilio", name: "sms", accountSid: standin.accountSid, authToken: { env: "COVENANT_BUNDLE_TWILIO_TOKEN" }, from: "+15550000000", apiUrl: standin.url, timeoutMs: 3000 },
        testContext(),
      );
      expect(await c.send(message())).toMatchObject({ ok: true, providerId: expect.stringMatching(/^SM/) });
      expect(standin.messages).toHaveLength(1);
    } finally {
      delete process.env["COVENANT_BUNDLE_TWILIO_TOKEN"];
    }
  });
});
