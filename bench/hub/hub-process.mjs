// The hub under test: a PostgreSQL database of the benchmark's own on the machine's server
// (127.0.0.1:5432, created here and dropped after), a certificate for 127.0.0.1, and the built
// `covenant hub serve` as a separate process, as an installation runs it.
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { localCertificate, scratchDatabase } from "../../test/helpers/local-fixtures.mjs";
import { commandEnv } from "../lib.mjs";

export const PG_ADMIN_URL = process.env.BENCH_HUB_PG ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** Bundles bench/hub/hub-lib.ts (Covenant's hub modules, from src/) into the work directory; returns its URL. */
export async function bundleHubLib(work) {
  const out = join(work, "hub-lib.mjs");
  await build({ entryPoints: ["bench/hub/hub-lib.ts"], bundle: true, platform: "node", format: "esm", target: "node20", packages: "external", outfile: out, logLevel: "error" });
  return pathToFileURL(out).href;
}

export function benchDatabase() {
  return scratchDatabase(PG_ADMIN_URL, "covenant_bench_hub_");
}

async function certificate(dir) {
  const pems = await localCertificate();
  writeFileSync(join(dir, "hub.pem"), pems.cert, { mode: 0o600 });
  writeFileSync(join(dir, "hub.key"), pems.key, { mode: 0o600 });
  chmodSync(join(dir, "hub.key"), 0o600);
  return pems.cert;
}

function get(url, path, ca) {
  return new Promise((resolveGet) => {
    const req = request(new URL(path, url), { ca }, (res) => {
      res.resume();
      res.on("end", () => resolveGet(res.statusCode ?? 0));
    });
    req.on("error", () => resolveGet(0));
    req.end();
  });
}

/** Starts `covenant hub serve` on a free port; resolves when it answers /v1/health. */
export async function startHubProcess(work, db, { poolSize, port }) {
  const dir = join(work, "hub");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = await certificate(dir);
  const config = join(dir, "hub.yaml");
  writeFileSync(config, `listen:\n  host: 127.0.0.1\n  port: ${port}\ntls:\n  cert: hub.pem\n  key: hub.key\ndatabase:\n  url: ${db.url}\n  poolSize: ${poolSize}\nclockTolerance: 2m\n`, { mode: 0o600 });
  const child = spawn(resolve("bin/covenant"), ["hub", "serve", "--config", config], { env: commandEnv, stdio: ["ignore", "pipe", "pipe"] });
  const log = [];
  child.stdout.on("data", (d) => log.push(String(d)));
  child.stderr.on("data", (d) => log.push(String(d)));
  const url = `https://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`covenant hub serve exited ${child.exitCode}: ${log.join("")}`);
    if ((await get(url, "/v1/health", ca)) === 200) break;
    if (Date.now() > deadline) throw new Error(`covenant hub serve did not answer in 30 s: ${log.join("")}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    ca,
    pid: child.pid,
    log,
    /** the hub's peak resident memory (VmHWM), in KiB */
    peakRssKB() {
      try {
        return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? 0);
      } catch {
        return 0;
      }
    },
    stop() {
      return new Promise((r) => {
        if (child.exitCode !== null) return r(child.exitCode);
        child.once("exit", (code) => r(code));
        child.kill("SIGTERM");
      });
    },
  };
}
