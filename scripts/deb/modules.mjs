// The node_modules the Debian package ships: only what the bundle loads at run time (the native
// addon). Everything else the CLI uses (chevrotain, commander, and the channel libraries) is inside
// the bundle; devDependencies never ship.
// scripts/build.mjs leaves exactly bundleExternals out of the bundle.
import { cpSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** The modules scripts/build.mjs leaves out of the bundle (`external`): loaded from node_modules. */
export const bundleExternals = ["better-sqlite3"];

/** better-sqlite3's installer of prebuilt addons: install time only, and the package ships the addon built. */
const installTimeOnly = new Set(["prebuild-install"]);

/**
 * What a native module needs at run time: its code and its built addon. The rest (C++ sources,
 * the SQLite amalgamation, object files, the test extension) serves only to build it.
 */
const nativeRuntimeFiles = {
  "better-sqlite3": ["package.json", "LICENSE", "README.md", "lib", "build/Release/better_sqlite3.node"],
};

/** Where Node would find `name` when required from the module at lock path `from` (package-lock.json keys). */
function resolveInLock(packages, from, name) {
  for (let dir = from; ; dir = dir.includes("/node_modules/") ? dir.slice(0, dir.lastIndexOf("/node_modules/")) : "") {
    const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!dir) return undefined;
  }
}

/** Lock paths of the externals and every production dependency they pull in, sorted. */
export function runtimeModulePaths(lock) {
  const packages = lock.packages;
  const seen = new Set();
  const visit = (path) => {
    if (seen.has(path)) return;
    const entry = packages[path];
    if (!entry || entry.dev) throw new Error(`${path} is not a production dependency in package-lock.json`);
    seen.add(path);
    for (const dep of Object.keys(entry.dependencies ?? {})) {
      if (installTimeOnly.has(dep)) continue;
      const found = resolveInLock(packages, path, dep);
      if (!found) throw new Error(`${dep}, a dependency of ${path}, is not in package-lock.json`);
      visit(found);
    }
  };
  for (const name of bundleExternals) visit(`node_modules/${name}`);
  return [...seen].sort();
}

/** Copies the run-time modules from the repository's node_modules into `dest` (the package's /usr/lib/covenant). */
export function copyRuntimeModules(repo, dest, BuildError) {
  const lock = JSON.parse(readFileSync(join(repo, "package-lock.json"), "utf8"));
  let paths;
  try {
    paths = runtimeModulePaths(lock);
  } catch (err) {
    throw new BuildError(err.message);
  }
  for (const path of paths) {
    const name = path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);
    const files = nativeRuntimeFiles[name] ?? ["."];
    for (const file of files) {
      const from = join(repo, path, file);
      if (!existsSync(from)) throw new BuildError(`${path}/${file} is missing: run \`npm ci\` first`);
      mkdirSync(dirname(join(dest, path, file)), { recursive: true });
      cpSync(from, join(dest, path, file), { recursive: true, dereference: true });
    }
  }
  return paths;
}
