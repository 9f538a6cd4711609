// The promise-type registry: every type the language knows, keyed by its DSL keyword.
import type { AttributeSpec, PromiseTypeSpec } from "./schema.js";
import { commonPromiseAttributes } from "./schema.js";
import { command } from "./promise-types/command.js";
import { connections } from "./promise-types/connections.js";
import { directory } from "./promise-types/directory.js";
import { file } from "./promise-types/file.js";
import { filehandles } from "./promise-types/filehandles.js";
import { group } from "./promise-types/group.js";
import { listener } from "./promise-types/listener.js";
import { load } from "./promise-types/load.js";
import { locks } from "./promise-types/locks.js";
import { mount } from "./promise-types/mount.js";
import { process } from "./promise-types/process.js";
import { service } from "./promise-types/service.js";
import { sysctl } from "./promise-types/sysctl.js";

const all: PromiseTypeSpec[] = [file, directory, connections, listener, process, service, locks, sysctl, filehandles, load, mount, group, command];

export const promiseTypes: ReadonlyMap<string, PromiseTypeSpec> = new Map(all.map((t) => [t.name, t]));

const attributeIndex = new Map<string, Map<string, AttributeSpec>>(
  all.map((t) => [t.name, new Map([...t.attributes, ...commonPromiseAttributes].map((a) => [a.name, a]))]),
);

/** All attributes a promise of this type accepts, its own and the common ones. */
export function attributesOf(type: string): ReadonlyMap<string, AttributeSpec> | undefined {
  return attributeIndex.get(type);
}
