// The schema's validator. Run from source (tests, tsx), it is compiled here on first use; the
// build replaces this module with the same validator compiled ahead of time (scripts/build.mjs,
// plugin precompiled-config-validator, with the same options), so that a run loads generated
// code in ~20 ms instead of ajv's compiler and ~300 ms of compiling on every start.
import { Ajv, type ValidateFunction } from "ajv";
import schema from "../../docs/covenant.schema.json" with { type: "json" };

/** Every error at once; `discriminator` for channels' `type`; `verbose` puts the schema on each error (known keys, descriptions). */
export const AJV_OPTIONS = { allErrors: true, discriminator: true, verbose: true, strict: true } as const;

let compiled: ValidateFunction | undefined;

export function configValidator(): ValidateFunction {
  if (!compiled) compiled = new Ajv(AJV_OPTIONS).compile(schema);
  return compiled;
}
