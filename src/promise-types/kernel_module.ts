// The schema of `kernel_module`: what a `kernel_module` promise may say. Its behaviour is src/evaluator/promise-types/kernel_module.ts.
import type { PromiseTypeSpec } from "./schema.js";

export const kernel_module: PromiseTypeSpec = {
  name: "kernel_module",
  summary: "Kernel modules: loaded or not, and prevented from loading.",
  description:
    "Promises whether a kernel module is loaded now (/proc/modules) and whether modprobe is kept from loading it (modprobe.d(5): the first `install` rule for the module runs `/bin/false` or `/bin/true` instead, as the SCAP Security Guide requires, and no modules-load.d file or `modules_load=` on the kernel command line asks for it at boot). `blacklist` alone only stops loading by alias: it is judged by `blacklisted`, never taken for `prevented`. `-` and `_` are the same character in module names.",
  promiser: {
    type: { kind: "string", pattern: /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/, patternHint: "a module name such as `usb-storage` or `cramfs`" },
    description: "Module name, as modprobe takes it (`usb-storage` and `usb_storage` are one module).",
  },
  attributes: [
    { name: "loaded", type: { kind: "boolean" }, description: "Whether the module must be loaded now (listed in /proc/modules)." },
    {
      name: "prevented",
      type: { kind: "boolean" },
      description:
        "Whether modprobe must be kept from loading the module: the first `install` rule naming it in /etc, /run, /usr/local/lib, /usr/lib or /lib `modprobe.d/*.conf` is `/bin/false` or `/bin/true`, and nothing lists it to load at boot. `false`: no such rule.",
    },
    { name: "blacklisted", type: { kind: "boolean" }, description: "Whether a `blacklist` rule (or `modprobe.blacklist=` on the kernel command line) must name the module: it is then not loaded for an alias (a device), though `modprobe` by name still loads it." },
    {
      name: "repair",
      type: { kind: "oneOrMany", of: { kind: "enum", values: ["prevent", "unload"] } },
      description:
        "`prevent`: write /etc/modprobe.d/00-covenant-<module>.conf (named to be read before other files: modprobe runs the first install rule) with `install <module> /bin/false` and `blacklist <module>`, each unless the promise says `prevented = false` or `blacklisted = false` (for `prevented = true` or `blacklisted = true`). `unload`: run `modprobe -r -- <module>` (for `loaded = false`); only when named here.",
    },
  ],
  constraints: [{ kind: "atLeastOne", attributes: ["loaded", "prevented", "blacklisted"] }],
  repairs: "Write a modprobe.d file of its own (`repair = prevent`); unload the module with `modprobe -r` (`repair = unload`, argv, never a shell).",
  example: `kernel_module "usb-storage" {
  loaded    = false
  prevented = true
  repair    = prevent
}`,
};
