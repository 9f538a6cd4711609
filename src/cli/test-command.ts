// `covenant test`: its options and help, wired to src/cli/commands/test.ts (loaded when run).
import type { Command } from "commander";
import type { Io } from "./io.js";
import type { SharedOptions } from "./map-command.js";

const testCommand = () => import("./commands/test.js");

export function addTestCommand(program: Command, io: Io, setExit: (code: number) => void, shared: Pick<SharedOptions, "includeOption">): void {
  program
    .command("test")
    .description("run the policy tests (*.test.yaml), each in a sandbox made from its fixture; report what differed, and what no test covers")
    .argument("[paths...]", "test files, or directories searched for *.test.yaml", [])
    .option("--json", "print the results, the coverage and the summary as JSON", false)
    .option("--junit <file>", "also write the results as JUnit XML to this file")
    .option("--keep-sandboxes", "keep each test's sandbox, to look at what it held (their directory is said on standard error)", false)
    .option("--min-coverage <percent>", "fail (exit 1) when fewer than this share of the controls, or of the promises, are covered by a test (judged in it), such as 80")
    .addOption(shared.includeOption())
    .addHelpText(
      "after",
      "\nNothing on the host is read for the promises or changed: each test's sandbox is its own, removed afterwards (docs/testing-policies.md).\n\nExamples:\n  covenant test policies/\n  covenant test --junit test-results.xml examples/sox\n  covenant test --min-coverage 100 policies/\n\nExit codes: 0 every test passed (and the coverage asked for is met), 1 a test failed or the coverage is below --min-coverage, 2 bad input (a test file, a policy or a fixture in error: every problem is said, and no test runs).",
    )
    .action(async (paths: string[], o: { json: boolean; junit?: string; keepSandboxes: boolean; include: string[]; minCoverage?: string }) => {
      setExit(await (await testCommand()).runTestCommand(paths, { json: o.json, include: o.include, keep: o.keepSandboxes, ...(o.junit !== undefined ? { junit: o.junit } : {}), ...(o.minCoverage !== undefined ? { minCoverage: o.minCoverage } : {}) }, io));
    });
}
