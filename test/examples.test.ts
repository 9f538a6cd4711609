// The bundled examples are part of the product: they must stay clean and canonical, and the
// installation examples must run as written.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkPaths } from "../src/checker/check.ts";
import { covenant, ensureBuilt } from "./helpers/cli.ts";

describe("examples/sox", () => {
  const result = checkPaths(["examples/sox"], { today: "2026-11-23" });

  it("checks clean, `watch = realtime` in examples/sox/ledger.promise included", () => {
    expect(result.diagnostics.map((d) => `${d.code} ${d.span.file}: ${d.message}`)).toEqual([]);
    const ledger = result.policy!.controls.flatMap((c) => c.promises).filter((p) => p.attributes["watch"] === "realtime");
    expect(ledger.length).toBeGreaterThan(0);
  });

  it("has at least ten controls covering the promised areas", () => {
    const controls = result.policy!.controls;
    expect(controls.length).toBeGreaterThanOrEqual(10);
    const types = new Set(controls.flatMap((c) => c.promises.map((p) => p.type)));
    for (const t of ["connections", "file", "group", "service", "process", "filehandles", "load", "sysctl"]) expect(types).toContain(t);
    expect(result.policy!.waivers.map((w) => w.control)).toContain("ITGC-AC-01");
  });

  it("gives every control an owner, a severity and framework references", () => {
    for (const c of result.policy!.controls) {
      expect(c.owner, c.id).toBeDefined();
      expect(c.refs.length, c.id).toBeGreaterThan(0);
    }
  });
});

describe("examples/sox/sox.test.yaml", () => {
  it("passes: the example of a policy's tests, run as authors run them", () => {
    ensureBuilt();
    const r = covenant(["test", "examples/sox"]);
    expect(r.out.trimEnd().split("\n").at(-1), r.out + r.err).toBe("4 tests: 4 passed, 0 failed");
    expect(r.code).toBe(0);
  });
});

describe("examples/cron and examples/systemd", () => {
  /** Where a covenant command's arguments end: at the shell's redirection of its report, or its next command. */
  const argsOf = (words: string[]) => {
    const end = words.findIndex((f) => /^(\d?>|\|\||;|&&)/.test(f));
    return end < 0 ? words : words.slice(0, end);
  };

  /** The covenant command lines the examples install (every one of a cron job's, a unit's condition too). */
  function commandLines(): { from: string; argv: string[] }[] {
    const out: { from: string; argv: string[] }[] = [];
    for (const line of readFileSync("examples/cron/covenant", "utf8").split("\n")) {
      const fields = line.trim().split(/\s+/);
      if (line.startsWith("#") || fields[5] !== "root") continue;
      const words = fields.slice(6);
      words.forEach((w, i) => {
        if (w === "covenant" && (i === 0 || words[i - 1] === "||")) out.push({ from: "cron", argv: argsOf(words.slice(i + 1)) });
      });
    }
    for (const unit of ["covenant.service", "covenant-verify.service", "covenant-watch.service"]) {
      const text = readFileSync(`examples/systemd/${unit}`, "utf8");
      for (const m of text.matchAll(/^Exec(?:Condition|Start)=.*?\/usr\/bin\/covenant ([^'\n]*)'?$/gm)) out.push({ from: unit, argv: argsOf(m[1]!.split(/\s+/)) });
    }
    return out;
  }

  it("installs every five minutes and verifies daily, in both forms", () => {
    const cron = readFileSync("examples/cron/covenant", "utf8");
    expect(cron).toMatch(/^\*\/5 \* \* \* \* root covenant watch --status .* \|\| covenant run /m);
    expect(readFileSync("examples/systemd/covenant.timer", "utf8")).toMatch(/^OnUnitActiveSec=5min$/m);
    expect(readFileSync("examples/systemd/covenant.service", "utf8")).toMatch(/^SuccessExitStatus=1$/m);
    expect(commandLines().map((c) => `${c.from}: ${c.argv[0]}`)).toEqual(["cron: watch", "cron: run", "cron: verify", "covenant.service: watch", "covenant.service: run", "covenant-verify.service: verify", "covenant-watch.service: watch"]);
  });

  it("their command lines are accepted by this version of covenant", () => {
    ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), "covenant-install-"));
    for (const { from, argv } of commandLines()) {
      // each names its state directory (the default as root): swapped for the test's
      expect(argv[argv.indexOf("--state") + 1], from).toBe("/var/lib/covenant");
      const args = argv.map((a) => (a === "/etc/covenant/policies" ? "examples/sox" : a.startsWith("/var/log/covenant/") ? join(dir, "last-run.xml") : a === "/var/lib/covenant" ? join(dir, "state") : a));
      // the watcher itself runs until stopped: test/install/watch-unit.test.ts starts it from its unit
      if (args[0] === "watch" && !args.includes("--status")) continue;
      // a dry run in a state directory of the test's: the host is only read
      const run = args[0] === "run" ? [...args, "--dry-run"] : args;
      const r = covenant(run);
      expect([0, 1], `${from}: ${r.err}`).toContain(r.code);
    }
    expect(readFileSync(join(dir, "last-run.xml"), "utf8")).toContain("<testsuites");
  });
});
