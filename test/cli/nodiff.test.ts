// `nodiff = true` on `file` and `command`: a secret's content, digest or output reaches none of
// the text report, the JSON, the JUnit XML, the history or the store's files, end to end.
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";

beforeAll(() => ensureBuilt());

const made: string[] = [];
afterAll(() => made.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "covenant-nodiff-"));
  made.push(dir);
  return dir;
}

/** Everything a run leaves for people and machines: its outputs, the JUnit file, the history and the store's bytes. */
function everything(dir: string, state: string, outputs: string[]): string {
  const store = readdirSync(state)
    .map((f) => readFileSync(join(state, f)).toString("latin1"))
    .join("\n");
  const history = covenant(["history", "--state", state]);
  const historyJson = covenant(["history", "--json", "--state", state]);
  return [...outputs, readFileSync(join(dir, "report.xml"), "utf8"), history.out, historyJson.out, store].join("\n");
}

function secretPolicy(dir: string, nodiff: boolean): string {
  const policy = join(dir, "p.promise");
  writeFileSync(
    policy,
    `control "ITGC-SEC-01" {
  title = "Secrets"
  file "${dir}/pin.conf" { integrity = sha256${nodiff ? " nodiff = true" : ""} }
  command ["/bin/sh", "-c", "printf 'user=ledger\\\\npassword=%s%s\\\\n' hun ter2; printf 'token=%s%s' hun ter2 >&2; exit 3"] { output_excludes = "password"${nodiff ? " nodiff = true" : ""} }
}
`,
  );
  return policy;
}

/** Runs twice (the first approves the baseline), the second after the file's content changed to the secret. */
function runWithSecret(nodiff: boolean): { all: string; newDigest: string; approvedDigest: string } {
  const dir = tempDir();
  const state = join(dir, "state");
  writeFileSync(join(dir, "pin.conf"), "pin=0000\n");
  const policy = secretPolicy(dir, nodiff);
  const first = covenant(["run", "--state", state, policy]);
  expect(first.code, first.err).toBe(1);
  writeFileSync(join(dir, "pin.conf"), "pin=4711\n");
  const junit = join(dir, "report.xml");
  const text = covenant(["run", "--state", state, "--junit", junit, policy]);
  const json = covenant(["run", "--json", "--state", state, policy]);
  expect(text.out).toContain("content differs from the baseline of");
  const digest = (content: string) => createHash("sha256").update(content).digest("hex");
  return { all: everything(dir, state, [first.out, first.err, text.out, text.err, json.out, json.err]), newDigest: digest("pin=4711\n"), approvedDigest: digest("pin=0000\n") };
}

describe("nodiff", () => {
  it("keeps a file's content and digest, and a command's output, out of every report, the history and the store", () => {
    const { all, newDigest, approvedDigest } = runWithSecret(true);
    expect(all).not.toContain("4711");
    expect(all).not.toContain(newDigest.slice(0, 12));
    // the approved baseline's digest too: the review found a 4-digit PIN from the 12 hex digits
    // `history` printed for the approval (and all 64 in `history --json` and the store)
    expect(all).not.toContain(approvedDigest.slice(0, 12));
    expect(all).toContain("baseline approved: ");
    expect(all).toMatch(/baseline approved: \S*pin\.conf sha256 \(withheld: nodiff\)/);
    expect(all).not.toContain("hunter2");
    expect(all).toContain("(withheld: nodiff)");
    expect(all).toContain("(standard error withheld: nodiff)");
  });

  it("without it, the digest and the offending line are shown (so the test above can fail)", () => {
    const { all, newDigest, approvedDigest } = runWithSecret(false);
    expect(all).toContain(newDigest.slice(0, 12));
    expect(all).toContain(approvedDigest.slice(0, 12));
    expect(all).toContain("password=hunter2");
    expect(all).toContain("token=hunter2");
  });
});

describe("nodiff with integrity", () => {
  it("compares the content keyed: unchanged is kept, changed is drift, and the stored baseline holds no digest", () => {
    const dir = tempDir();
    const state = join(dir, "state");
    writeFileSync(join(dir, "pin.conf"), "pin=0000\n");
    const policy = join(dir, "p.promise");
    writeFileSync(policy, `control "ITGC-SEC-01" {\n  title = "Secrets"\n  file "${dir}/pin.conf" { integrity = sha256 nodiff = true }\n}\n`);
    const outcome = () => (JSON.parse(covenant(["run", "--json", "--state", state, policy]).out) as { controls: { promises: { outcome: string }[] }[] }).controls[0]!.promises[0]!.outcome;
    expect(outcome()).toBe("kept");
    expect(outcome()).toBe("kept");
    writeFileSync(join(dir, "pin.conf"), "pin=4711\n");
    expect(outcome()).toBe("drift");
    writeFileSync(join(dir, "pin.conf"), "pin=0000\n");
    expect(outcome()).toBe("kept");
    const stored = readdirSync(state).map((f) => readFileSync(join(state, f)).toString("latin1")).join("\n");
    expect(stored).not.toContain(createHash("sha256").update("pin=0000\n").digest("hex"));
    expect(stored).toContain("hmac-sha256:");
    expect(covenant(["verify", "--state", state]).code).toBe(0);
  });
});

describe("nodiff with an approved copy and repair = content", () => {
  it("restores the content and keeps both digests out of every output, the JSON's changes included", () => {
    const dir = tempDir();
    const state = join(dir, "state");
    writeFileSync(join(dir, "approved.conf"), "pin=0000\n");
    writeFileSync(join(dir, "pin.conf"), "pin=4711\n");
    const policy = join(dir, "p.promise");
    writeFileSync(
      policy,
      `control "ITGC-SEC-01" {\n  title = "Secrets"\n  file "${dir}/pin.conf" { integrity = sha256 nodiff = true baseline = "${dir}/approved.conf" repair = content }\n}\n`,
    );
    const json = covenant(["run", "--json", "--state", state, policy]);
    expect(json.code, json.err).toBe(0);
    expect(readFileSync(join(dir, "pin.conf"), "utf8")).toBe("pin=0000\n");
    const outcome = (JSON.parse(json.out) as { controls: { promises: { outcome: string; changes: { status: string }[] }[] }[] }).controls[0]!.promises[0]!;
    expect(outcome.outcome).toBe("repaired");
    expect(outcome.changes.map((c) => c.status)).toEqual(["applied"]);
    writeFileSync(join(dir, "pin.conf"), "pin=4711\n");
    const text = covenant(["run", "--state", state, "--junit", join(dir, "report.xml"), policy]);
    expect(text.code, text.err).toBe(0);
    const digest = (content: string) => createHash("sha256").update(content).digest("hex");
    const all = everything(dir, state, [json.out, json.err, text.out, text.err]);
    expect(all).toContain("restore");
    for (const secret of [digest("pin=0000\n"), digest("pin=4711\n")]) expect(all).not.toContain(secret.slice(0, 12));
  });
});
