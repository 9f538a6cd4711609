// The behaviour of every promise type, bound by name to its schema in src/promise-types/: a
// type's behaviour is src/evaluator/promise-types/<name>.ts, its schema src/promise-types/<name>.ts.
// The checker loads only the schemas, so esbuild leaves the behaviours (and the probes they use)
// out of the bundle chunks that only check policies.
import type { PromiseTypeName } from "../promise-types/registry.js";
import type { PromiseBehaviour } from "./contract.js";
import { accountBehaviour } from "./promise-types/account.js";
import { commandBehaviour } from "./promise-types/command.js";
import { configBehaviour } from "./promise-types/config.js";
import { connectionsBehaviour } from "./promise-types/connections.js";
import { directoryBehaviour } from "./promise-types/directory.js";
import { fileBehaviour } from "./promise-types/file.js";
import { filehandlesBehaviour } from "./promise-types/filehandles.js";
import { groupBehaviour } from "./promise-types/group.js";
import { kernel_moduleBehaviour } from "./promise-types/kernel_module.js";
import { linesBehaviour } from "./promise-types/lines.js";
import { listenerBehaviour } from "./promise-types/listener.js";
import { loadBehaviour } from "./promise-types/load.js";
import { locksBehaviour } from "./promise-types/locks.js";
import { mountBehaviour } from "./promise-types/mount.js";
import { packageBehaviour } from "./promise-types/package.js";
import { processBehaviour } from "./promise-types/process.js";
import { scheduledBehaviour } from "./promise-types/scheduled.js";
import { serviceBehaviour } from "./promise-types/service.js";
import { sysctlBehaviour } from "./promise-types/sysctl.js";

// keyed by the registry's names, so a type without a behaviour (or a behaviour without a
// type) does not compile; each behaviour observes its own kind of thing, and the engine treats
// observations as opaque
const all: Record<PromiseTypeName, object> = {
  account: accountBehaviour,
  command: commandBehaviour,
  config: configBehaviour,
  connections: connectionsBehaviour,
  directory: directoryBehaviour,
  file: fileBehaviour,
  filehandles: filehandlesBehaviour,
  group: groupBehaviour,
  kernel_module: kernel_moduleBehaviour,
  lines: linesBehaviour,
  listener: listenerBehaviour,
  load: loadBehaviour,
  locks: locksBehaviour,
  mount: mountBehaviour,
  package: packageBehaviour,
  process: processBehaviour,
  scheduled: scheduledBehaviour,
  service: serviceBehaviour,
  sysctl: sysctlBehaviour,
};

export const behaviours: ReadonlyMap<string, PromiseBehaviour<unknown>> = new Map(Object.entries(all).map(([name, b]) => [name, b as PromiseBehaviour<unknown>]));
