// A real `covenant hub serve` process (the built CLI) on a database of its own, with the test CA's
// certificate, for tests whose hosts are real covenant processes too: started once per file,
// its URL read from what it prints, stopped with SIGTERM (and waited for) afterwards.
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { bin, ensureBuilt } from "../../helpers/cli.ts";
import { removeTempDirs, tempDir } from "../../store/helpers.ts";
import { testCertificate, type TestCert } from "./certs.ts";
import { freshDatabase, type TestDatabase } from "./pg.ts";

export interface RealHub {
  db: TestDatabase;
  cert: TestCert;
  /** the hub's configuration file */
  config: string;
  server: ChildProcess;
  url: string;
}

/** Builds the CLI when needed, makes the database and certificate, and starts the hub (clock tolerance 90 s). */
export async function startRealHub(name: string): Promise<RealHub> {
  ensureBuilt();
  const db = await freshDatabase();
  const cert = await testCertificate();
  const config = join(tempDir(name), "hub.yaml");
  writeFileSync(config, `listen: { host: 127.0.0.1, port: 0 }\ntls: { cert: ${cert.cert}, key: ${cert.key} }\ndatabase: { url: "${db.url}" }\nclockTolerance: 90s\n`);
  const server = spawn(bin, ["hub", "serve", "--config", config], { stdio: ["ignore", "pipe", "pipe"] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    server.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /serving (https:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    server.on("exit", (code) => reject(new Error(`hub serve exited with ${code}: ${out}`)));
  });
  return { db, cert, config, server, url };
}

/** Stops the hub and waits for it, drops its database, and removes the test's temporary directories. */
export async function stopRealHub(hub: RealHub | undefined): Promise<void> {
  if (hub && hub.server.exitCode === null) {
    const exited = new Promise((r) => hub.server.once("exit", r));
    hub.server.kill("SIGTERM");
    await exited;
  }
  await hub?.db.drop();
  removeTempDirs();
}
