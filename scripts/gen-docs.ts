// Writes the generated reference docs (see src/docs/generate.ts).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { generatedDocs } from "../src/docs/generate.ts";

for (const [path, text] of generatedDocs()) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  console.log(`wrote ${path}`);
}
