#!/usr/bin/env node
// Runs the bundled CLI (built by `npm install` / `npm run build` into dist/).
import { main } from "../dist/covenant.js";

process.exitCode = await main(process.argv.slice(2));
