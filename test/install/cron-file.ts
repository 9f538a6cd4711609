// Reading a /etc/cron.d file as cron does, and running one of its jobs as cron would: the
// command line to /bin/sh -c, with the file's variables in the environment, what it prints
// being what cron mails to MAILTO.
import { spawnSync } from "node:child_process";

export interface CronJob {
  schedule: string;
  user: string;
  command: string;
}

export interface CronFile {
  env: Record<string, string>;
  jobs: CronJob[];
  /** job lines behind a `#` (a job shipped disabled), read as if the `#` were not there */
  disabledJobs: CronJob[];
}

const jobLine = /^((?:@\w+)|(?:\S+\s+){4}\S+)\s+(\S+)\s+(.+)$/;
const envLine = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/;

function job(line: string): CronJob | undefined {
  const m = jobLine.exec(line);
  return m ? { schedule: m[1]!.replace(/\s+/g, " "), user: m[2]!, command: m[3]! } : undefined;
}

export function parseCronFile(text: string): CronFile {
  const file: CronFile = { env: {}, jobs: [], disabledJobs: [] };
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    if (line.startsWith("#")) {
      // a disabled job: `#` directly followed by a schedule of five fields and a user
      const disabled = /^#(\*|@|\d)/.test(line) ? job(line.slice(1)) : undefined;
      if (disabled) file.disabledJobs.push(disabled);
      continue;
    }
    const env = envLine.exec(line);
    if (env) file.env[env[1]!] = env[2]!;
    else {
      const j = job(line);
      if (!j) throw new Error(`not a cron line: ${line}`);
      file.jobs.push(j);
    }
  }
  return file;
}

/** Runs a job's command as cron does; `mail` is what cron would send. */
export function runCronCommand(command: string, env: Record<string, string>): { mail: string; code: number | null } {
  // cron turns an unescaped % into a newline (standard input); Covenant's jobs have none
  if (/(^|[^\\])%/.test(command)) throw new Error(`unescaped % in a cron command: ${command}`);
  const r = spawnSync(env["SHELL"] ?? "/bin/sh", ["-c", command], { encoding: "utf8", env });
  return { mail: r.stdout + r.stderr, code: r.status };
}
