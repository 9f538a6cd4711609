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

/** code-server's entry script, installed now when it is not; or why it cannot be. */
export function ensureCodeServer(): { entry: string } | { error: string } {
  if (existsSync(ready)) return { entry };
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
    writeFileSync(join(work, "ready"), `${CODE_SERVER_VERSION}\n`);
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

export interface RunningCodeServer {
  url: string;
  stop(): Promise<void>;
}

/** Starts code-server on 127.0.0.1 (a port of its choosing) without authentication, its data in `dirs`. */
export async function startCodeServer(dirs: { userData: string; extensions: string; config: string }, folder: string): Promise<RunningCodeServer> {
  writeFileSync(dirs.config, "bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n");
  const args = [entry, "--config", dirs.config, "--user-data-dir", dirs.userData, "--extensions-dir", dirs.extensions, "--disable-telemetry", "--disable-update-check", "--disable-getting-started-override", folder];
  const child = spawn(process.execPath, args, { detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, XDG_CONFIG_HOME: dirname(dirs.config), XDG_DATA_HOME: dirname(dirs.config) } });
  let said = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`code-server did not listen within 30 s:\n${said}`)), 30_000);
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
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`code-server exited (${code}) before listening:\n${said}`));
    });
  });
  return { url, stop: () => stopGroup(child) };
}

/** Installs a .vsix into `extensionsDir` with code-server's own CLI. */
export function installExtension(vsix: string, dirs: { userData: string; extensions: string }): string | undefined {
  const r = spawnSync(process.execPath, [entry, "--user-data-dir", dirs.userData, "--extensions-dir", dirs.extensions, "--install-extension", vsix], { encoding: "utf8", timeout: 120_000 });
  return r.status === 0 && /successfully installed/.test(r.stdout) ? undefined : `${r.stdout}${r.stderr}`.trim() || `status ${r.status ?? r.signal}`;
}

async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
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

/** The version the installed copy says it is (a check that what runs is what was pinned). */
export function installedVersion(): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(installDir, "node_modules/code-server/package.json"), "utf8")) as { version: string }).version;
  } catch {
    return undefined;
  }
}
