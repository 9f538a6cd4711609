// The promise-type registry: every type the language knows, keyed by its DSL keyword. The
// vocabulary alone: the checker validates against it and the docs are generated from it; each
// type's behaviour is bound to it by name in src/evaluator/behaviours.ts.
import type { AttributeSpec, PromiseTypeSpec } from "./schema.js";
import { commonPromiseAttributes } from "./schema.js";
import { account } from "./account.js";
import { command } from "./command.js";
import { config } from "./config.js";
import { connections } from "./connections.js";
import { directory } from "./directory.js";
import { file } from "./file.js";
import { filehandles } from "./filehandles.js";
import { group } from "./group.js";
import { kernel_module } from "./kernel_module.js";
import { lines } from "./lines.js";
import { listener } from "./listener.js";
import { load } from "./load.js";
import { locks } from "./locks.js";
import { mount } from "./mount.js";
import { package as packageType } from "./package.js";
import { process } from "./process.js";
import { scheduled } from "./scheduled.js";
import { service } from "./service.js";
import { sysctl } from "./sysctl.js";

// in the order the docs list them; each key is its spec's name (test/parity.test.ts)
const byName = { file, directory, connections, listener, process, service, locks, sysctl, kernel_module, lines, filehandles, load, mount, scheduled, group, account, command, package: packageType, config };

/** The name of a built-in promise type: its DSL keyword, file, registry key, behaviour, test and doc page. */
export type PromiseTypeName = keyof typeof byName;

const all: PromiseTypeSpec[] = Object.values(byName);

export const promiseTypes: ReadonlyMap<string, PromiseTypeSpec> = new Map(all.map((t) => [t.name, t]));

const attributeIndex = new Map<string, Map<string, AttributeSpec>>(
  all.map((t) => [t.name, new Map([...t.attributes, ...commonPromiseAttributes].map((a) => [a.name, a]))]),
);

/** All attributes a promise of this type accepts, its own and the common ones. */
export function attributesOf(type: string): ReadonlyMap<string, AttributeSpec> | undefined {
  return attributeIndex.get(type);
}
