// One name everywhere: every registered promise type has its schema (src/promise-types/), its
// behaviour (src/evaluator/promise-types/), its test file and its doc page under that name, and
// nothing exists under a name that is not registered.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { generatedDocs } from "../src/docs/generate.ts";
import { behavioursFor } from "../src/evaluator/behaviours.ts";
import { promiseTypes } from "../src/promise-types/registry.ts";
import type { PromiseTypeSpec } from "../src/promise-types/schema.ts";
import { channelFactories } from "../src/notifiers/registry.ts";
import { groupLabelNames } from "../src/notifiers/routing/groups.ts";

const names = [...promiseTypes.keys()].sort();
// src/promise-types/ holds one schema per type, and these two modules of the vocabulary itself
const vocabularyModules = ["registry", "schema"];
const stems = (dir: string, suffix: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(suffix))
    .map((f) => f.slice(0, -suffix.length))
    .sort();

describe("parity between registry, sources, tests and docs", () => {
  it("has a schema file per registered type and no unregistered one", () => {
    expect(stems("src/promise-types", ".ts").filter((s) => !vocabularyModules.includes(s))).toEqual(names);
  });
  it("registers each schema under the name it declares, exported by that name from the file of that name", async () => {
    for (const n of names) {
      const module = (await import(`../src/promise-types/${n}.ts`)) as Record<string, PromiseTypeSpec>;
      expect(module[n]?.name, n).toBe(n);
      expect(promiseTypes.get(n), n).toBe(module[n]);
    }
  });
  it("has a behaviour file per registered type and no unregistered one", () => {
    expect(stems("src/evaluator/promise-types", ".ts")).toEqual(names);
  });
  it("gives every registered type a behaviour, and no unregistered name one", async () => {
    expect([...(await behavioursFor([...names, "not_a_type", "toString"])).keys()].sort()).toEqual(names);
  });
  it("binds each type to the behaviour exported by its own file", async () => {
    const behaviours = await behavioursFor(names);
    for (const n of names) {
      const module = (await import(`../src/evaluator/promise-types/${n}.ts`)) as Record<string, unknown>;
      expect(module[`${n}Behaviour`], n).toBeDefined();
      expect(behaviours.get(n), n).toBe(module[`${n}Behaviour`]);
    }
  });
  it("keeps schemas out of the evaluator: a behaviour file declares no PromiseTypeSpec", () => {
    for (const n of names) expect(readFileSync(`src/evaluator/promise-types/${n}.ts`, "utf8"), n).not.toContain("PromiseTypeSpec");
  });
  it("tests every type's behaviour, not only its schema", () => {
    for (const n of names) expect(readFileSync(`test/promise-types/${n}.test.ts`, "utf8"), n).toContain(`describe("${n} behaviour"`);
  });
  it("has a test file per registered type and no unregistered one", () => {
    expect(stems("test/promise-types", ".test.ts")).toEqual(names);
  });
  it("has a doc page per registered type and no unregistered one", () => {
    expect(stems("docs/promise-types", ".md")).toEqual(names);
  });
  it("links every promise type from the language reference", () => {
    const language = readFileSync("docs/language.md", "utf8");
    for (const n of names) expect(language).toContain(`(promise-types/${n}.md)`);
  });
  it("keeps generated docs up to date (run `npm run docs`)", () => {
    for (const [path, text] of generatedDocs()) {
      expect(existsSync(path), `${path} is missing`).toBe(true);
      expect(readFileSync(path, "utf8"), `${path} is out of date`).toBe(text);
    }
  });
});

// The same for notifier channels: a channel type's name is its module under src/notifiers/, its
// test file, its doc page, its harness in the one contract suite, and its `type:` in covenant.yaml.
describe("parity between the channel registry, sources, tests, docs and the contract suite", () => {
  const channels = Object.keys(channelFactories).sort();
  it("registers the five channels the configuration's schema knows", () => {
    const schema = readFileSync("docs/covenant.schema.json", "utf8");
    for (const c of channels) expect(schema, c).toContain(`"const": "${c}"`);
    expect(channels).toEqual(["alertmanager", "email", "report", "twilio", "webhook"]);
  });
  it("has a source file, a test file, a doc page and a contract harness per channel", () => {
    const contract = readFileSync("test/notifiers/contract.test.ts", "utf8");
    for (const c of channels) {
      expect(existsSync(`src/notifiers/${c}.ts`), `src/notifiers/${c}.ts`).toBe(true);
      expect(existsSync(`test/notifiers/${c}.test.ts`), `test/notifiers/${c}.test.ts`).toBe(true);
      expect(existsSync(`test/notifiers/harnesses/${c}.ts`), `test/notifiers/harnesses/${c}.ts`).toBe(true);
      expect(contract, `${c} in the contract suite`).toContain(`channelContract("${c}"`);
    }
    expect(stems("docs/channels", ".md")).toEqual(channels);
  });
  it("lets group_by name in covenant.yaml exactly the labels routing groups by", () => {
    const schema = readFileSync("docs/covenant.schema.json", "utf8");
    const listed = /"enum": \[("control"[^\]]*)\]/.exec(schema)![1]!.split(",").map((s) => JSON.parse(s.trim()) as string);
    expect(listed.filter((l) => l !== "...").sort()).toEqual([...groupLabelNames].sort());
  });
  it("links every channel's page from the notifications overview", () => {
    const overview = readFileSync("docs/notifications.md", "utf8");
    for (const c of channels) expect(overview).toContain(`channels/${c}.md`);
  });
});
