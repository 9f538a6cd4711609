// The peer: the real Alertmanager (Debian prometheus-alertmanager) on a loopback port, no
// clustering, storage in the benchmark's directory, routing by owner to one email receiver per
// stakeholder at the benchmark's SMTP server, grouped by control and sent at once (group_wait 0s).
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

function freePort() {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

export async function startAlertmanager(work, smtpPort, stakeholders, name) {
  const dir = join(work, "alertmanager");
  mkdirSync(join(dir, "data"), { recursive: true });
  const receivers = Array.from({ length: stakeholders }, (_, s) => `  - name: ${name(s)}\n    email_configs:\n      - to: ${name(s)}@example.com\n        from: alertmanager@bench.example\n        smarthost: 127.0.0.1:${smtpPort}\n        require_tls: false\n        send_resolved: false`).join("\n");
  const routes = Array.from({ length: stakeholders }, (_, s) => `    - matchers: ['owner="${name(s)}"']\n      receiver: ${name(s)}`).join("\n");
  writeFileSync(join(dir, "am.yml"), `route:\n  receiver: ${name(0)}\n  group_by: [control]\n  group_wait: 0s\n  group_interval: 5m\n  repeat_interval: 4h\n  routes:\n${routes}\nreceivers:\n${receivers}\n`);
  const port = await freePort();
  const child = spawn("/usr/bin/prometheus-alertmanager", [`--config.file=${join(dir, "am.yml")}`, `--storage.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--cluster.listen-address=", "--log.level=warn"], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr.on("data", (c) => (log += c));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      /* not yet listening */
    }
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`Alertmanager did not start:\n${log.slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    round: 0,
    log: () => log,
    stop: () =>
      new Promise((res) => {
        if (child.exitCode !== null) return res();
        child.on("exit", () => res());
        child.kill("SIGTERM");
      }),
  };
}
