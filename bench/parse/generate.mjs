// Generates equivalent policies for Covenant and CFEngine: N file promises, each promising
// mode/owner/group and a sha256 integrity baseline (CFEngine: one `files:` promise with a
// `perms` body and a `changes` body).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const pad = (i) => String(i).padStart(6, "0");

export function covenantPolicy(n, perControl = 100) {
  const out = ['stakeholder compliance { description = "Compliance team" }', ""];
  for (let c = 0; c * perControl < n; c++) {
    out.push(`control "BENCH-${pad(c)}" {`, `  title    = "Ledger files batch ${c}"`, "  owner    = compliance", "  severity = high", "");
    for (let i = c * perControl; i < Math.min(n, (c + 1) * perControl); i++) {
      out.push(`  file "/srv/bench/f${pad(i)}.dat" {`, "    mode      = 0640", '    owner     = "ledger"', '    group     = "finance"', "    integrity = sha256", "  }");
    }
    out.push("}", "");
  }
  return out.join("\n");
}

export function cfenginePolicy(n) {
  const out = [
    'body common control { bundlesequence => { "main" }; }',
    "",
    "bundle agent main",
    "{",
    "  files:",
  ];
  for (let i = 0; i < n; i++) {
    out.push(`    "/srv/bench/f${pad(i)}.dat"`, '      perms => mog("0640", "ledger", "finance"),', "      changes => detect_content;", "");
  }
  out.push(
    "}",
    "",
    "body perms mog(mode, user, group)",
    "{",
    '  mode => "$(mode)";',
    '  owners => { "$(user)" };',
    '  groups => { "$(group)" };',
    "}",
    "",
    "body changes detect_content",
    "{",
    '  hash => "sha256";',
    '  report_changes => "content";',
    '  update_hashes => "yes";',
    "}",
    "",
  );
  return out.join("\n");
}

export function writePolicies(dir, n) {
  mkdirSync(dir, { recursive: true });
  const cov = join(dir, `files-${n}.promise`);
  const cf = join(dir, `files-${n}.cf`);
  writeFileSync(cov, covenantPolicy(n));
  writeFileSync(cf, cfenginePolicy(n));
  return { cov, cf };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 200);
  console.log(writePolicies(process.argv[3] ?? "bench/.work/parse", n));
}
