// The channels as they ship: bundled by esbuild with the options of scripts/build.mjs (nodemailer
// and twilio left external, loaded from node_modules), the registry's static imports reach
// neither library (they load only when a channel is made), and a channel made from the bundle
// delivers to the real test receivers.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
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
  it("leave nodemailer and twilio out of the bundle, reached only through a dynamic import", () => {
    const entry = Object.keys(metafile.outputs).find((p) => p.endsWith("/registry.js"))!;
    const eager = staticClosure(entry);
    for (const lib of ["nodemailer", "twilio"]) {
      expect([...eager], lib).not.toContain(lib);
      const importers = Object.entries(metafile.outputs).filter(([, o]) => o.imports.some((i) => i.path === lib && i.external));
      expect(importers.length, `${lib} is imported, as an external, by some chunk`).toBeGreaterThan(0);
      for (const [path] of importers) expect(eager.has(path), `${path} is loaded eagerly`).toBe(false);
    }
    // nothing of either library's own code was bundled
    expect(Object.keys(metafile.inputs).filter((p) => /node_modules\/(nodemailer|twilio)\//.test(p))).toEqual([]);
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
