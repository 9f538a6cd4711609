// Generates, for bench/run, N small real files and two equivalent policies over them:
// Covenant, one `file` promise per file (mode 0640, sha256 integrity baseline, repair = perms),
// 100 per control; CFEngine 3, one `files:` promise per file with a `perms` body (mode 0640) and
// a `changes` body (sha256, report every change, keep the hash database up to date), all in one
// bundle. The bodies are written into the policy itself: the run must not depend on the
// masterfiles' standard library being installed.
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";

const pad = (i) => String(i).padStart(6, "0");

export const fileName = (i) => `f${pad(i)}.dat`;

/** Deterministic ledger-like content of 512 B to 4 KiB, different for every file. */
export function content(i) {
  const size = 512 + ((i * 2654435761) >>> 0) % 3584;
  const lines = [];
  let len = 0;
  for (let j = 0; len < size; j++) {
    const h = createHash("sha1").update(`${i}:${j}`).digest("hex");
    const line = `${pad(i)},${String(j).padStart(4, "0")},GL-${h.slice(0, 6)},${(parseInt(h.slice(6, 14), 16) / 100).toFixed(2)},EUR,${h.slice(14, 30)}\n`;
    lines.push(line);
    len += line.length;
  }
  return lines.join("").slice(0, size);
}

export function covenantPolicy(dir, n, perControl = 100) {
  const out = ['stakeholder compliance { description = "Compliance team" }', ""];
  for (let c = 0; c * perControl < n; c++) {
    out.push(`control "BENCH-RUN-${pad(c)}" {`, `  title    = "Ledger files batch ${c}"`, "  owner    = compliance", "  severity = high", "");
    for (let i = c * perControl; i < Math.min(n, (c + 1) * perControl); i++) {
      out.push(`  file "${join(dir, fileName(i))}" {`, "    mode      = 0640", "    integrity = sha256", "    repair    = perms", "  }");
    }
    out.push("}", "");
  }
  return out.join("\n");
}

export function cfenginePolicy(dir, n) {
  const out = ['body common control { bundlesequence => { "main" }; }', "", "bundle agent main", "{", "  files:"];
  for (let i = 0; i < n; i++) out.push(`    "${join(dir, fileName(i))}"`, '      perms => m("0640"),', "      changes => detect_all_change_sha256;", "");
  out.push(
    "}",
    "",
    // as the standard library's `m(mode)`; rxdirs set explicitly, or cf-agent warns for each
    // promise on each pass (3.21 changed its default)
    "body perms m(mode)",
    "{",
    '  mode   => "$(mode)";',
    '  rxdirs => "false";',
    "}",
    "",
    // as the standard library's `detect_all_change`, with sha256 named instead of "best"
    "body changes detect_all_change_sha256",
    "{",
    '  hash           => "sha256";',
    '  report_changes => "all";',
    '  update_hashes  => "yes";',
    "}",
    "",
  );
  return out.join("\n");
}

/** (Re)creates dir/files with N files at mode 0640 and both policies; returns their paths. */
export function writeFixture(dir, n) {
  const files = join(dir, "files");
  rmSync(files, { recursive: true, force: true });
  mkdirSync(files, { recursive: true });
  const paths = [];
  for (let i = 0; i < n; i++) {
    const p = join(files, fileName(i));
    writeFileSync(p, content(i));
    chmodSync(p, 0o640);
    paths.push(p);
  }
  const cov = join(dir, `files-${n}.promise`);
  const cf = join(dir, `files-${n}.cf`);
  writeFileSync(cov, covenantPolicy(files, n));
  writeFileSync(cf, cfenginePolicy(files, n));
  return { cov, cf, files: paths };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 200);
  const { cov, cf } = writeFixture(process.argv[3] ?? `bench/.work/run/${n}`, n);
  console.log({ cov, cf });
}
