// The real Alertmanager (Debian's prometheus-alertmanager), started for a test on 127.0.0.1 with
// a temporary configuration and storage, without clustering, and stopped by its pid: call stop()
// in afterAll (an exit hook kills it too, should a worker end first). When the binary is missing
// the Debian package is installed (ensureDebianTool: as root, no service started); ensureAlertmanager
// says why if it cannot be.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureDebianTool } from "./debian-package.js";
import { freePort } from "./loopback.js";

export const ALERTMANAGER = "/usr/bin/prometheus-alertmanager";
export const AMTOOL = "/usr/bin/amtool";

/** A configuration that routes everything to a receiver that sends nowhere. */
export const NULL_ROUTE_CONFIG = `route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n`;

export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  fingerprint: string;
  status: { state: string; silencedBy: string[]; inhibitedBy: string[] };
}

export interface RunningAlertmanager {
  url: string;
  pid: number;
  /** GET /api/v2/alerts: the alerts it holds that have not ended */
  alerts(): Promise<AlertmanagerAlert[]>;
  /** what it wrote to stderr (its log), for a failing test's message */
  log(): string;
  stop(): Promise<void>;
}

/** undefined when the binary is there (installed now if it was missing), else why not. */
export function ensureAlertmanager(): string | undefined {
  return ensureDebianTool(ALERTMANAGER, "prometheus-alertmanager");
}

export async function startAlertmanager(config = NULL_ROUTE_CONFIG): Promise<RunningAlertmanager> {
  const missing = ensureAlertmanager();
  if (missing) throw new Error(missing);
  let lastError: Error | undefined;
  // the port was free a moment ago; another program may take it first, so try a few
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(config, await freePort());
    } catch (err) {
      lastError = err as Error;
    }
  }
  throw lastError;
}

async function startOnce(config: string, port: number): Promise<RunningAlertmanager> {
  const dir = mkdtempSync(join(tmpdir(), "alertmanager-"));
  writeFileSync(join(dir, "alertmanager.yml"), config);
  const args = [`--config.file=${join(dir, "alertmanager.yml")}`, `--storage.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--cluster.listen-address=", "--log.level=warn"];
  const child = spawn(ALERTMANAGER, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => (stderr = (stderr + c.toString("utf8")).slice(-8000)));
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    process.removeListener("exit", killOnExit);
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(url, child, () => stderr);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    pid: child.pid!,
    log: () => stderr,
    stop,
    async alerts() {
      const res = await fetch(`${url}/api/v2/alerts`);
      if (!res.ok) throw new Error(`GET /api/v2/alerts answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as AlertmanagerAlert[];
    },
  };
}

async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`alertmanager exited (${child.exitCode ?? child.signalCode}) before it was ready: ${log()}`);
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`alertmanager was not ready within 20 s: ${log()}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** `amtool config routes test`: the receivers Alertmanager's routing tree in `config` picks for these labels. */
export function routeReceivers(config: string, labels: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "amtool-"));
  try {
    writeFileSync(join(dir, "alertmanager.yml"), config);
    const pairs = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
    const r = spawnSync(AMTOOL, ["config", "routes", "test", `--config.file=${join(dir, "alertmanager.yml")}`, ...pairs], { encoding: "utf8" });
    if (r.error) throw r.error;
    return r.stdout.trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
