import { describe, expect, it, vi } from "vitest";
import { readProcesses } from "../../src/probes/processes.ts";
import { evaluateOne } from "../helpers/evaluate.ts";
import { testPromiseType } from "../helpers/promise-type-kit.ts";

testPromiseType("command", {
  valid: [
    'command ["/usr/bin/pg_isready", "-q"] { exit_code = 0 output_matches = "accepting" output_excludes = "error" user = "postgres" max_output = 1MB }',
    'command ["/usr/local/bin/check-credentials"] { output_excludes = "expired" nodiff = true }',
  ],
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

  it("drifts when no line matches, or a line matches what it must not, and quotes only that line", async () => {
    expect(await evaluateOne('command ["/bin/echo", "ledger open"] { output_matches = "closed" }')).toMatchObject({
      outcome: "drift",
      reason: 'no line of the output of `/bin/echo "ledger open"` (1 line) matches /closed/',
    });
    expect(await evaluateOne('command ["/bin/true"] { output_matches = "closed" }')).toMatchObject({ outcome: "drift", reason: "`/bin/true` printed nothing, which does not match /closed/" });
    // the first line where the pattern matches, not the first 80 bytes of output
    const r = await evaluateOne('command ["/usr/bin/printf", "header: api_key=s3cr3t\\nok\\nerror: disk full\\nerror: again\\n"] { output_excludes = "error.*" }');
    expect(r).toMatchObject({ outcome: "drift", reason: 'line 3 of the output of `/usr/bin/printf "header: api_key=s3cr3t\\nok\\nerror: disk full\\nerror: again\\n"` matches /error.*/, which it excludes: "error: disk full"' });
    expect(r.differences).toEqual([expect.objectContaining({ attribute: "output_excludes", observed: '"error: disk full"' })]);
  });

  it("escapes what it quotes, on one line and at most 200 characters", async () => {
    const r = await evaluateOne('command ["/usr/bin/printf", "ok\\nbad \\\\033[2J\\\\342\\\\200\\\\256 %s\\n", "' + "x".repeat(300) + '"] { output_excludes = "^bad" }');
    const quoted = r.reason.slice(r.reason.indexOf(": ") + 2);
    expect(quoted.startsWith('"bad \\u001b[2J\\u202e xxx')).toBe(true);
    expect(quoted).toMatch(/x…"$/);
    expect(quoted.length).toBeLessThan(230);
    expect(r.reason).not.toMatch(/[\u0000-\u001f\u202e]/);
  });

  it("with nodiff, no byte of the output reaches a reason or a difference", async () => {
    // the secret is made by the command, so that it appears in no argv
    const excluded = await evaluateOne('command ["/usr/bin/printf", "user=ledger\\npassword=%s%s\\n", "hun", "ter2"] { output_excludes = "password" nodiff = true }');
    expect(excluded).toMatchObject({ outcome: "drift", reason: 'line 2 of the output of `/usr/bin/printf "user=ledger\\npassword=%s%s\\n" hun ter2` matches /password/, which it excludes' });
    expect(excluded.differences).toEqual([expect.objectContaining({ observed: "(withheld: nodiff)" })]);
    const failed = await evaluateOne('command ["/bin/sh", "-c", "printf \'token=%s%s\' hun ter2 >&2; exit 3"] { nodiff = true }');
    expect(failed.reason).toBe('`/bin/sh -c "printf \'token=%s%s\' hun ter2 >&2; exit 3"` exited with status 3, promised 0 (standard error withheld: nodiff)');
    const matches = await evaluateOne('command ["/usr/bin/printf", "password=%s%s\\n", "hun", "ter2"] { output_matches = "^ok$" nodiff = true }');
    expect(matches.reason).toBe('no line of the output of `/usr/bin/printf "password=%s%s\\n" hun ter2` (1 line) matches /^ok$/');
    for (const r of [excluded, failed, matches]) expect(JSON.stringify(r)).not.toContain("hunter2");
    // without nodiff the same line is quoted: the test above can fail
    const open = await evaluateOne('command ["/usr/bin/printf", "user=ledger\\npassword=%s%s\\n", "hun", "ter2"] { output_excludes = "password" }');
    expect(open.reason).toContain('"password=hunter2"');
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
