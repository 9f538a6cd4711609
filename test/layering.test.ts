// Dependencies point down: parser → promise types → checker → evaluator → store → evidence → report → hub → cli. Read from the
// import lines of the sources (static, type-only, re-exports and dynamic imports alike), followed
// through every module they reach, so a path that climbs through a helper is caught too.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const SRC = resolve("src");

/** The lower layers, lowest first: each may import from its own layer and those before it. */
const ranked = ["parser", "promise-types", "checker"];
/** What none of the lower layers may reach, directly or through anything else. */
const above = ["evaluator", "cli", "store", "watch", "report", "evidence"];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [path] : [];
  });
}

/** The top-level directory under src/ a module lives in. */
const layerOf = (file: string): string => relative(SRC, file).split(sep)[0]!;

/** What a module imports: relative imports as source paths, packages and builtins as written. */
function importsOf(file: string): { local: string[]; packages: string[] } {
  const specifiers = ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles.map((f) => f.fileName);
  const local: string[] = [];
  const packages: string[] = [];
  for (const s of specifiers) {
    if (!s.startsWith(".")) packages.push(s);
    else {
      const source = resolve(dirname(file), s).replace(/\.js$/, ".ts");
      local.push(existsSync(source) ? source : resolve(dirname(file), s));
    }
  }
  return { local, packages };
}

const files = sources(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

/** Every module reachable from `file`, each with the chain of imports that reaches it. */
function reachable(file: string): Map<string, string[]> {
  const chains = new Map<string, string[]>([[file, [file]]]);
  const queue = [file];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const dep of graph.get(next)?.local ?? []) {
      if (chains.has(dep)) continue;
      chains.set(dep, [...chains.get(next)!, dep]);
      queue.push(dep);
    }
  }
  return chains;
}

const shown = (chain: string[]) => chain.map((f) => relative(SRC, f)).join(" → ");

describe("layering of the sources", () => {
  it("reads the import lines it judges (the checker's use of the vocabulary is seen)", () => {
    const check = graph.get(join(SRC, "checker", "controls.ts"))!;
    expect(check.local).toContain(join(SRC, "promise-types", "registry.ts"));
    expect(reachable(join(SRC, "evaluator", "engine.ts")).has(join(SRC, "promise-types", "schema.ts"))).toBe(true);
  });

  for (const layer of ranked) {
    it(`lets nothing in src/${layer}/ reach ${above.map((a) => `src/${a}/`).join(", ")}, or a layer above its own`, () => {
      const forbidden = [...above, ...ranked.slice(ranked.indexOf(layer) + 1)];
      // each import that crosses into a forbidden layer, once, with one chain that leads to it
      const climbs = new Map<string, string>();
      for (const file of files.filter((f) => layerOf(f) === layer)) {
        for (const [dep, chain] of reachable(file)) {
          const from = chain.at(-2);
          if (from === undefined || !forbidden.includes(layerOf(dep)) || forbidden.includes(layerOf(from))) continue;
          const edge = shown([from, dep]);
          if (!climbs.has(edge)) climbs.set(edge, shown(chain));
        }
      }
      expect([...climbs.values()]).toEqual([]);
    });
  }

  it("puts src/report/ above the evaluator and the store and below the hub and the command line: it reaches no src/cli/, src/watch/ or src/hub/, and only src/hub/ and src/cli/ reach it", () => {
    const wrong: string[] = [];
    for (const file of files) {
      const layer = layerOf(file);
      for (const [dep, chain] of reachable(file)) {
        const into = layerOf(dep);
        if (layer === "report" && (into === "cli" || into === "watch" || into === "hub")) wrong.push(shown(chain));
        if (into === "report" && !["report", "hub", "cli"].includes(layer)) wrong.push(shown(chain));
      }
    }
    expect(files.some((f) => layerOf(f) === "report")).toBe(true);
    expect(wrong).toEqual([]);
  });

  it("puts src/evidence/ above the store and below the report, the hub's client and the command line: it reaches no src/report/, src/cli/, src/watch/ or src/hub/, and only src/report/, src/hub/client/, src/hub/evidence/ and src/cli/ import it", () => {
    const wrong: string[] = [];
    for (const file of files) {
      const layer = layerOf(file);
      for (const [dep, chain] of reachable(file)) {
        const into = layerOf(dep);
        if (layer === "evidence" && (into === "report" || into === "cli" || into === "watch" || into === "hub")) wrong.push(shown(chain));
        // the hub's client sends records as an evidence pack's extract holds them (extractLine), and the
        // hub's fleet evidence (src/hub/evidence/) writes packs as evidence/ does: those two reach it,
        // and the rest of the hub (its server, the push path) only through them
        const importer = chain.length >= 2 ? relative(SRC, chain[chain.length - 2]!) : "";
        const hubSide = [join("hub", "client") + sep, join("hub", "evidence") + sep].some((d) => importer.startsWith(d));
        if (into === "evidence" && !["evidence", "report", "cli"].includes(layerOf(chain[chain.length - 2] ?? file)) && !hubSide) wrong.push(shown(chain));
      }
    }
    expect(files.some((f) => layerOf(f) === "evidence")).toBe(true);
    expect(wrong).toEqual([]);
  });

  it("puts src/hub/ (the fleet hub and a host's side of it) just below the command line: it reaches no src/cli/ or src/watch/, and only src/cli/, src/watch/ and the docs generator (src/docs/) reach it", () => {
    const wrong: string[] = [];
    for (const file of files) {
      const layer = layerOf(file);
      for (const [dep, chain] of reachable(file)) {
        const into = layerOf(dep);
        if (layer === "hub" && (into === "cli" || into === "watch")) wrong.push(shown(chain));
        if (into === "hub" && !["hub", "cli", "watch", "docs"].includes(layer)) wrong.push(shown(chain));
      }
    }
    expect(files.some((f) => layerOf(f) === "hub")).toBe(true);
    expect(wrong).toEqual([]);
  });

  it("keeps src/cli/ on top: no module outside it reaches anything under it, directly or through anything it imports", () => {
    // the command line wires everything; what the language server, `covenant test` or the watcher
    // share with it lives below it (src/sandbox/, src/run/, src/text/, src/config/, src/parser/)
    const climbs = new Map<string, string>();
    for (const file of files.filter((f) => layerOf(f) !== "cli")) {
      for (const [dep, chain] of reachable(file)) {
        const from = chain.at(-2);
        if (from === undefined || layerOf(dep) !== "cli" || layerOf(from) === "cli") continue;
        const edge = shown([from, dep]);
        if (!climbs.has(edge)) climbs.set(edge, shown(chain));
      }
    }
    expect(files.some((f) => layerOf(f) === "cli")).toBe(true);
    expect([...climbs.values()]).toEqual([]);
  });

  it("keeps the vocabulary pure: src/promise-types/ imports only itself and the parser, and no package", () => {
    const wrong: string[] = [];
    for (const file of files.filter((f) => layerOf(f) === "promise-types")) {
      const { local, packages } = graph.get(file)!;
      for (const dep of local) if (!["promise-types", "parser"].includes(layerOf(dep))) wrong.push(shown([file, dep]));
      for (const p of packages) wrong.push(`${relative(SRC, file)} → ${p}`);
    }
    expect(wrong).toEqual([]);
  });
});
