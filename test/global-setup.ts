// One temporary directory per test run, removed when the run ends: the suite's thousands of
// mkdtemp directories (policies, state stores, sandboxes) go there through TMPDIR, which the
// forked workers and the commands they start inherit, instead of piling up in /tmp. Root's own
// and closed to others' writes (0755), so the trust rules judge the directories below it, not it.
import { spawnSync } from "node:child_process";
import { mkdtempSync, chmodSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The hub's tests use the PostgreSQL server of the development and CI machines (127.0.0.1:5432);
 * when it is down it is started here, as the machines' notes say (no systemd: pg_ctlcluster
 * directly). When it cannot be, the hub's tests fail saying they cannot connect.
 */
function ensurePostgres(): void {
  if (spawnSync("pg_isready", ["-q", "-h", "127.0.0.1", "-p", "5432"]).status === 0) return;
  let versions: string[] = [];
  try {
    versions = readdirSync("/etc/postgresql");
  } catch {
    process.stderr.write("test setup: PostgreSQL is not running and /etc/postgresql is not there\n");
    return;
  }
  for (const v of versions) spawnSync("pg_ctlcluster", ["--skip-systemctl-redirect", v, "main", "start"], { stdio: "inherit" });
  for (let i = 0; i < 50 && spawnSync("pg_isready", ["-q", "-h", "127.0.0.1", "-p", "5432"]).status !== 0; i++) spawnSync("sleep", ["0.2"]);
}

export function setup(): () => void {
  ensurePostgres();
  const dir = mkdtempSync(join(tmpdir(), "covenant-tests-"));
  chmodSync(dir, 0o755);
  process.env["TMPDIR"] = dir;
  return () => {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch (err) {
      // a mount or an immutable file a failed test left behind: say so, and leave the rest
      process.stderr.write(`test teardown: ${dir} not wholly removed: ${(err as Error).message}\n`);
    }
  };
}
