// `npm run test:package`: the grammar is what its source writes, the bundle loads and exports
// the extension's entry points, and `vsce package` makes a .vsix holding exactly what the
// extension needs (no sources, tests or node_modules: the client is bundled by esbuild).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const here = new URL("..", import.meta.url).pathname;
const require = createRequire(import.meta.url);
const failures = [];

execFileSync(process.execPath, [join(here, "scripts/grammar.mjs"), "--check"], { stdio: "inherit" });

// the bundle, with a stand-in for the `vscode` module only VS Code provides: any of its names is
// a class, a function and a namespace at once (the client's classes extend vscode's)
const anything = new Proxy(function () {}, { get: (_, key) => (key === "prototype" ? {} : anything), construct: () => ({}), apply: () => anything });
const load = Module._load;
Module._load = function (request, ...rest) {
  return request === "vscode" ? anything : load.call(this, request, ...rest);
};
const extension = require(join(here, "dist/extension.js"));
Module._load = load;
for (const name of ["activate", "deactivate"]) if (typeof extension[name] !== "function") failures.push(`dist/extension.js exports no ${name}()`);

const dir = mkdtempSync(join(tmpdir(), "covenant-vsix-"));
try {
  const vsix = join(dir, "covenant.vsix");
  const vsce = join(here, "node_modules/@vscode/vsce/vsce");
  execFileSync(process.execPath, [vsce, "package", "--no-dependencies", "--skip-license", "--out", vsix], { cwd: here, stdio: ["ignore", "inherit", "inherit"] });
  const files = await entries(vsix);
  const wanted = ["package.json", "dist/extension.js", "syntaxes/covenant.tmLanguage.json", "language-configuration.json", "schemas/covenant.schema.json", "readme.md"];
  for (const f of wanted) if (!files.includes(`extension/${f}`)) failures.push(`the .vsix lacks extension/${f}`);
  for (const f of files) if (/^extension\/(src|test|scripts|node_modules)\//.test(f) || f.endsWith(".vsix")) failures.push(`the .vsix holds ${f}`);
  console.log(`${vsix}: ${files.length} files`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

if (failures.length > 0) {
  for (const f of failures) console.error(`FAILED: ${f}`);
  process.exit(1);
}
console.log("package: ok");

/** The names in a zip file (yauzl comes with vsce). */
function entries(path) {
  const yauzl = require("yauzl");
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true }, (err, zip) => {
      if (err) return reject(err);
      const names = [];
      zip.on("entry", (e) => {
        names.push(e.fileName);
        zip.readEntry();
      });
      zip.on("end", () => resolve(names));
      zip.on("error", reject);
      zip.readEntry();
    });
  });
}
