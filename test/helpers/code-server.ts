// A real VS Code for the extension's end-to-end test: code-server (VS Code's own workbench and
// extension host, served over HTTP and driven here by Debian's Chromium), installed from the npm
// registry into .scratch/ the first time a test needs it, started on 127.0.0.1 with directories of
// its own, stopped by its process group.
//
// code-server's own install script cannot run here: as root it demands npm's removed
// `--unsafe-perm`, and VS Code's ripgrep package downloads its binary from GitHub. So its steps
// are done one by one, each argv only: the package and VS Code's production dependencies without
// install scripts, the native modules built from source (`npm rebuild`), Debian's ripgrep where
// VS Code looks for its own, the links code-server's postinstall.sh makes. The version and its
// dependencies are pinned by test/fixtures/code-server's lock file (VS Code's own by its
// shrinkwrap): 4.100.x is VS Code 1.100 on Node 20 (later code-server needs Node 22).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDebianTool, findProgram } from "./debian-package.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
/** package.json and package-lock.json pinning code-server and every dependency of it */
const lockDir = join(root, "test/fixtures/code-server");
export const CODE_SERVER_VERSION = (JSON.parse(readFileSync(join(lockDir, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies["code-server"]!;
const installDir = join(root, ".scratch", "code-server", CODE_SERVER_VERSION);
const entry = join(installDir, "node_modules/code-server/out/node/entry.js");
const ready = join(installDir, "ready");
const INSTALL_TIMEOUT_MS = 900_000;

/** VS Code's native modules a workbench with one extension needs, and the file each build leaves. */
const nativeModules: Record<string, string> = {
  "@vscode/spdlog": "build/Release/spdlog.node",
  "@vscode/deviceid": "build/Release/windows.node",
  "native-watchdog": "build/Release/watchdog.node",
  "node-pty": "build/Release/pty.node",
  kerberos: "build/Release/kerberos.node",
};

/** What an install was made from: the lock file's digest (a changed lock installs again). */
const lockDigest = () => createHash("sha256").update(readFileSync(join(lockDir, "package-lock.json"))).digest("hex");

/** code-server's entry script, installed now when it is not; or why it cannot be. */
export function ensureCodeServer(): { entry: string } | { error: string } {
  if (existsSync(ready) && readFileSync(ready, "utf8").trim() === lockDigest()) return { entry };
  for (const [tool, pkg] of [
    ["rg", "ripgrep"],
    ["/usr/include/gssapi/gssapi.h", "libkrb5-dev"],
  ] as const) {
    const missing = ensureDebianTool(tool, pkg);
    if (missing) return { error: missing };
  }
  const work = `${installDir}.partial-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const failed = installInto(work);
    if (failed) return { error: `code-server ${CODE_SERVER_VERSION} could not be installed: ${failed}` };
    writeFileSync(join(work, "ready"), `${lockDigest()}\n`);
    rmSync(installDir, { recursive: true, force: true });
    renameSync(work, installDir);
    return { entry };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** undefined on success, else what failed. */
function installInto(dir: string): string | undefined {
  // the version and every dependency's pinned by a lock file of the project's
  for (const f of ["package.json", "package-lock.json"]) copyFileSync(join(lockDir, f), join(dir, f));
  const npm = (cwd: string, args: string[]) => {
    // npm_config_yes: node-pty's postinstall asks npx for node-gyp, and would otherwise give up
    const r = spawnSync("npm", [...args, "--no-audit", "--no-fund"], { cwd, encoding: "utf8", timeout: INSTALL_TIMEOUT_MS, env: { ...process.env, npm_config_yes: "true" } });
    return r.status === 0 ? undefined : `npm ${args.join(" ")} in ${cwd}: ${(r.stderr ?? "").trim().split("\n").slice(-6).join("\n") || r.error?.message || `status ${r.status ?? r.signal}`}`;
  };
  const pkg = join(dir, "node_modules/code-server");
  const vscode = join(pkg, "lib/vscode");
  const steps: (() => string | undefined)[] = [
    () => npm(dir, ["ci", "--ignore-scripts"]),
    () => npm(dir, ["rebuild", "argon2"]),
    () => npm(vscode, ["install", "--omit=dev", "--ignore-scripts"]),
    () => builtNative(vscode, npm),
    () => {
      const rg = join(vscode, "node_modules/@vscode/ripgrep/bin/rg");
      mkdirSync(dirname(rg), { recursive: true });
      copyFileSync(findProgram("rg")!, rg);
      // what code-server's postinstall.sh links
      symlinkSync("node_modules", join(vscode, "node_modules.asar"));
      symlinkSync("code-linux.sh", join(vscode, "bin/remote-cli/code-server"));
      symlinkSync("browser-linux.sh", join(vscode, "bin/helpers/browser.sh"));
      return undefined;
    },
    () => npm(join(vscode, "extensions"), ["install", "--omit=dev"]),
  ];
  for (const step of steps) {
    const failed = step();
    if (failed) return failed;
  }
  return undefined;
}

/** Builds VS Code's native modules from source; what failed, judged by the file each leaves (a post-build step of node-pty's may fail after the module is built). */
function builtNative(vscode: string, npm: (cwd: string, args: string[]) => string | undefined): string | undefined {
  const said = npm(vscode, ["rebuild", ...Object.keys(nativeModules)]);
  const missing = Object.entries(nativeModules).filter(([name, file]) => !existsSync(join(vscode, "node_modules", name, file)));
  return missing.length === 0 ? undefined : `not built: ${missing.map(([n]) => n).join(", ")}${said ? ` (${said})` : ""}`;
}

export interface CodeServerDirs {
  userData: string;
  extensions: string;
  /** code-server's config file; its directory also holds what code-server keeps under XDG_CONFIG_HOME and XDG_DATA_HOME (never the user's home) */
  config: string;
}

export interface RunningCodeServer {
  url: string;
  /** what the login page asks for: code-server runs as root, and its workbench has a terminal */
  password: string;
  stop(): Promise<void>;
}

const LISTEN_TIMEOUT_MS = 120_000;

/** code-server's command line and environment for `dirs`: nothing of it outside them. */
function invocation(dirs: CodeServerDirs, args: string[]): { argv: string[]; env: NodeJS.ProcessEnv } {
  const own = dirname(dirs.config);
  return { argv: [entry, "--config", dirs.config, "--user-data-dir", dirs.userData, "--extensions-dir", dirs.extensions, ...args], env: { ...process.env, XDG_CONFIG_HOME: own, XDG_DATA_HOME: own } };
}

/** Starts code-server on 127.0.0.1 (a port of its choosing) behind a random password, its data in `dirs`. */
export async function startCodeServer(dirs: CodeServerDirs, folder: string): Promise<RunningCodeServer> {
  const password = randomBytes(24).toString("hex");
  writeFileSync(dirs.config, `bind-addr: 127.0.0.1:0\nauth: password\npassword: ${password}\ncert: false\n`, { mode: 0o600 });
  const { argv, env } = invocation(dirs, ["--disable-telemetry", "--disable-update-check", "--disable-getting-started-override", folder]);
  const child = spawn(process.execPath, argv, { detached: true, stdio: ["ignore", "pipe", "pipe"], env });
  let said = "";
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`code-server did not listen within ${LISTEN_TIMEOUT_MS / 1000} s:\n${said}`)), LISTEN_TIMEOUT_MS);
      const read = (chunk: Buffer) => {
        said += chunk.toString();
        const m = /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(said);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      child.stdout!.on("data", read);
      child.stderr!.on("data", read);
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`code-server exited (${code ?? signal}) before listening:\n${said}`));
      });
    });
    return { url, password, stop: () => stopGroup(child) };
  } catch (err) {
    await stopGroup(child);
    throw err;
  }
}

/** Installs a .vsix into `dirs.extensions` with code-server's own CLI. */
export function installExtension(vsix: string, dirs: CodeServerDirs): string | undefined {
  writeFileSync(dirs.config, "auth: none\ncert: false\n", { mode: 0o600 });
  const { argv, env } = invocation(dirs, ["--install-extension", vsix]);
  const r = spawnSync(process.execPath, argv, { encoding: "utf8", timeout: 120_000, env });
  return r.status === 0 && /successfully installed/.test(r.stdout) ? undefined : `${r.stdout}${r.stderr}`.trim() || `status ${r.status ?? r.signal}`;
}

/** Ends code-server's process group: SIGTERM, then SIGKILL after 5 s. */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }, 5_000);
  await exited;
  clearTimeout(timer);
}
