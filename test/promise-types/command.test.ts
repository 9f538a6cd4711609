import { describe, expect, it, vi } from "vitest";
import { readProcesses } from "../../src/probes/processes.ts";
import { evaluateOne } from "../helpers/evaluate.ts";
import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("command", {
  valid: ['command ["/usr/bin/pg_isready", "-q"] { exit_code = 0 output_matches = "accepting" output_excludes = "error" user = "postgres" max_output = 1MB }'],
  invalid: [
    { promise: 'command "/usr/bin/pg_isready -q" { exit_code = 0 }', code: "E102", message: /a command as a list of strings/ },
    { promise: 'command ["/bin/true"] { exit_code = 256 }', code: "E103" },
    { promise: 'command ["/bin/true"] { repair = set }', code: "E101" },
  ],
});

function running(argv: string[]): number[] {
  const all = readProcesses({ proc: "/proc" });
  if (!all.ok) throw new Error(all.error.message);
  return all.value.filter((x) => x.state !== "Z" && x.argv.join("\0") === argv.join("\0")).map((x) => x.pid);
}

describe("command behaviour", () => {
  it("is kept when the command ends with the promised status and output", async () => {
    expect(await evaluateOne('command ["/bin/true"] {}')).toMatchObject({ outcome: "kept", reason: "as promised" });
    expect(await evaluateOne('command ["/bin/false"] { exit_code = 1 }')).toMatchObject({ outcome: "kept" });
    // line by line: `$` ends a line, so echo's newline does not stand in the way
    expect(await evaluateOne('command ["/bin/echo", "ledger closed"] { output_matches = "^ledger closed$" output_excludes = "error" }')).toMatchObject({ outcome: "kept" });
  });

  it("drifts on another exit status, with the first line of standard error", async () => {
    expect(await evaluateOne('command ["/bin/false"] {}')).toMatchObject({
      outcome: "drift",
      reason: "`/bin/false` exited with status 1, promised 0",
      differences: [{ attribute: "exit_code", expected: "0", observed: "1" }],
      changes: [],
    });
    expect(await evaluateOne('command ["/bin/ls", "/nonexistent/cvt"] {}')).toMatchObject({
      outcome: "drift",
      reason: expect.stringMatching(/^`\/bin\/ls \/nonexistent\/cvt` exited with status 2, promised 0 \(".*No such file or directory" on standard error\)$/),
    });
  });

  it("drifts when the output does not match, or matches what it must not", async () => {
    expect(await evaluateOne('command ["/bin/echo", "ledger open"] { output_matches = "closed" }')).toMatchObject({
      outcome: "drift",
      reason: '`/bin/echo "ledger open"` printed "ledger open", which does not match /closed/',
    });
    expect(await evaluateOne('command ["/bin/echo", "error: disk full"] { output_excludes = "error.*" }')).toMatchObject({
      outcome: "drift",
      reason: 'the output of `/bin/echo "error: disk full"` contains "error: disk full", which /error.*/ excludes',
    });
  });

  it("keeps only max_output bytes of output and lets the command finish", async () => {
    const r = await evaluateOne('command ["/usr/bin/seq", "1", "100000"] { max_output = 1KiB output_matches = "^1$" output_excludes = "^100000$" }');
    expect(r).toMatchObject({ outcome: "kept", notes: ["`/usr/bin/seq 1 100000` wrote 588895 bytes of output; only the first 1024 (max_output) were kept and matched"] });
  });

  it("runs as the promised user", async () => {
    expect(await evaluateOne('command ["/usr/bin/id", "-un"] { user = "nobody" output_matches = "^nobody$" }')).toMatchObject({ outcome: "kept" });
    expect(await evaluateOne('command ["/usr/bin/id", "-un"] { user = "cvt-no-such-user" }')).toMatchObject({
      outcome: "error",
      reason: "`/usr/bin/id -un` cannot run as cvt-no-such-user: no such user on this host",
    });
  });

  it("is an error when the program is missing or dies of a signal", async () => {
    expect(await evaluateOne('command ["/nonexistent/cvt-check"] {}')).toMatchObject({ outcome: "error", reason: "`/nonexistent/cvt-check` cannot run: the program does not exist" });
    expect(await evaluateOne('command ["/bin/sh", "-c", "kill -KILL $$"] {}')).toMatchObject({ outcome: "error", reason: '`/bin/sh -c "kill -KILL $$"` was killed by SIGKILL' });
  });

  it("stops the command, and what it started, when the timeout expires", async () => {
    const seconds = `${30 + Math.random()}`.slice(0, 10);
    const evaluation = evaluateOne(`command ["/bin/sh", "-c", "/bin/sleep ${seconds}; true"] { timeout = 1s }`);
    await vi.waitFor(() => expect(running(["/bin/sleep", seconds])).toHaveLength(1));
    const r = await evaluation;
    expect(r).toMatchObject({ outcome: "error", reason: "timed out after 1s" });
    await vi.waitFor(() => expect(running(["/bin/sleep", seconds])).toEqual([]));
  });

  it("in a dry run still runs the check, which changes nothing", async () => {
    expect(await evaluateOne('command ["/bin/false"] {}', { dryRun: true })).toMatchObject({ outcome: "drift", changes: [] });
  });
});
