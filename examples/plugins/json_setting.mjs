#!/usr/bin/node
// An example Covenant plugin (docs/plugins.md): the promise type `json_setting`, that a JSON
// file holds a top-level key with a given value. It reads requests, one JSON object a line, on
// stdin and answers each on stdout; `terminate` ends it. It uses nothing but Node itself.
//
//   promise_type json_setting {
//     command = ["/usr/bin/node", "/usr/local/lib/covenant/plugins/json_setting.mjs"]
//     attribute key   { type = string  required = true }
//     attribute value { type = string  required = true }
//   }
import { readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";

const reply = (o) => process.stdout.write(JSON.stringify(o) + "\n");

function read(path) {
  return JSON.parse(readFileSync(path, "utf8"));
}

function evaluate({ promiser: path, attributes: { key, value } }) {
  let doc;
  try {
    doc = read(path);
  } catch (err) {
    return { result: "error", message: `${path} cannot be read as JSON: ${err.code ?? err.message}` };
  }
  const observed = doc[key] === undefined ? "(absent)" : String(doc[key]);
  if (observed === value) return { result: "kept" };
  return { result: "drift", differences: [{ attribute: "value", expected: value, observed, reason: `${path}: ${key} is ${observed}, promised ${value}` }] };
}

function repair({ promiser: path, attributes: { key, value } }) {
  try {
    const doc = read(path);
    doc[key] = value;
    // a new file renamed over the old one, with the old one's mode: never half a file
    const tmp = `${path}.covenant-tmp`;
    writeFileSync(tmp, JSON.stringify(doc, null, 2) + "\n", { mode: statSync(path).mode & 0o7777, flag: "wx" });
    renameSync(tmp, path);
    return { result: "repaired", changes: [`set ${key} to ${value} in ${path}`] };
  } catch (err) {
    return { result: "failed", message: `${path}: ${err.code ?? err.message}` };
  }
}

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  let request;
  try {
    request = JSON.parse(line);
  } catch {
    return reply({ result: "error", message: "a request line that is not JSON" });
  }
  if (request.protocol !== 1) return reply({ result: "error", message: `protocol ${request.protocol} is not spoken here` });
  switch (request.operation) {
    case "evaluate":
      return reply(evaluate(request));
    case "repair":
      return reply(repair(request));
    case "terminate":
      return process.exit(0);
    default:
      return reply({ result: "error", message: `unknown operation ${request.operation}` });
  }
});
