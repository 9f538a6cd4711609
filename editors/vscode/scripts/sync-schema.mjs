// covenant.yaml's JSON Schema, packed with the extension for yamlValidation: a copy of
// docs/covenant.schema.json, the one the CLI validates with (the build refreshes it; the
// project's test test/editors/vscode-extension.test.ts fails when the copy differs).
import { copyFileSync } from "node:fs";

copyFileSync(new URL("../../../docs/covenant.schema.json", import.meta.url), new URL("../schemas/covenant.schema.json", import.meta.url));
