// The behaviour of every promise type, bound by name to its schema in src/promise-types/: a
// type's behaviour is src/evaluator/promise-types/<name>.ts, its schema src/promise-types/<name>.ts.
// The checker loads only the schemas, so esbuild leaves the behaviours (and the probes they use)
// out of the bundle chunks that only check policies. Each behaviour is loaded when a policy has a
// promise of its type (behavioursFor): a run of `file` promises loads neither the parsers of
// config formats, nor the package, network and account probes, nor what they import (bench/run).
import type { PromiseTypeName } from "../promise-types/registry.js";
import type { PromiseBehaviour } from "./contract.js";

// keyed by the registry's names, so a type without a behaviour (or a behaviour without a
// type) does not compile; each behaviour observes its own kind of thing, and the engine treats
// observations as opaque
const loaders: Record<PromiseTypeName, () => Promise<object>> = {
  account: async () => (await import("./promise-types/account.js")).accountBehaviour,
  command: async () => (await import("./promise-types/command.js")).commandBehaviour,
  config: async () => (await import("./promise-types/config.js")).configBehaviour,
  connections: async () => (await import("./promise-types/connections.js")).connectionsBehaviour,
  directory: async () => (await import("./promise-types/directory.js")).directoryBehaviour,
  file: async () => (await import("./promise-types/file.js")).fileBehaviour,
  filehandles: async () => (await import("./promise-types/filehandles.js")).filehandlesBehaviour,
  group: async () => (await import("./promise-types/group.js")).groupBehaviour,
  kernel_module: async () => (await import("./promise-types/kernel_module.js")).kernel_moduleBehaviour,
  lines: async () => (await import("./promise-types/lines.js")).linesBehaviour,
  listener: async () => (await import("./promise-types/listener.js")).listenerBehaviour,
  load: async () => (await import("./promise-types/load.js")).loadBehaviour,
  locks: async () => (await import("./promise-types/locks.js")).locksBehaviour,
  mount: async () => (await import("./promise-types/mount.js")).mountBehaviour,
  package: async () => (await import("./promise-types/package.js")).packageBehaviour,
  process: async () => (await import("./promise-types/process.js")).processBehaviour,
  scheduled: async () => (await import("./promise-types/scheduled.js")).scheduledBehaviour,
  service: async () => (await import("./promise-types/service.js")).serviceBehaviour,
  sysctl: async () => (await import("./promise-types/sysctl.js")).sysctlBehaviour,
};

/** The behaviours of the built-in types among `types`, loaded (any other name, a plugin's, is left out). */
export async function behavioursFor(types: Iterable<string>): Promise<Map<string, PromiseBehaviour<unknown>>> {
  const names = [...new Set(types)].filter((t): t is PromiseTypeName => Object.hasOwn(loaders, t));
  const loaded = await Promise.all(names.map(async (t) => [t, (await loaders[t]()) as PromiseBehaviour<unknown>] as const));
  return new Map(loaded);
}
