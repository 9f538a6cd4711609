// Real policies to mutate: the shipped examples, each promise type's documented example and the
// policy snippets of the language reference.
import { readdirSync, readFileSync } from "node:fs";
import { promiseTypes } from "../../src/promise-types/registry.ts";

function examples(): string[] {
  return readdirSync("examples/sox")
    .filter((f) => f.endsWith(".promise"))
    .sort()
    .map((f) => readFileSync(`examples/sox/${f}`, "utf8"));
}

function typeExamples(): string[] {
  return [...promiseTypes.values()].map((t) => `control "EX-${t.name}" {\n  title = "${t.summary.replace(/["\\$]/g, "")}"\n\n${t.example.replace(/^/gm, "  ")}\n}\n`);
}

function referenceSnippets(): string[] {
  const text = readFileSync("docs/language.md", "utf8");
  return [...text.matchAll(/```\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((s) => !s.includes("<type>"));
}

export const corpus: readonly string[] = [...examples(), ...typeExamples(), ...referenceSnippets()];
