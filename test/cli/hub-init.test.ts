// `covenant hub init` through the built CLI: the four files with their modes, a certificate
// openssl verifies against the CA with the names asked for, what to do next printed (never a
// private key), a second run refused with nothing changed, bad names and days refused before
// anything is made; and the x509 library kept out of the chunks every other command loads.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { covenant, ensureBuilt } from "../helpers/cli.ts";

beforeAll(() => ensureBuilt());
const root = mkdtempSync(join(tmpdir(), "covenant-hub-init-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const FILES = ["ca.key", "ca.pem", "hub.key", "hub.pem"];
const mode = (p: string) => (statSync(p).mode & 0o7777).toString(8);

describe("covenant hub init", () => {
  it("makes the CA and the hub's certificate with the names asked for, and prints them as JSON", () => {
    const dir = join(root, "json", "tls");
    const r = covenant(["hub", "init", "--dir", dir, "--name", "hub.example.com", "--name", "10.1.2.3", "--days", "90", "--json"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const made = JSON.parse(r.out) as { dir: string; ca: { key: string; cert: string; isCa: boolean; sha256: string }; hub: { key: string; cert: string; names: string[]; notAfter: string; sha256: string } };
    expect(made.dir).toBe(dir);
    expect([made.ca.key, made.ca.cert, made.hub.key, made.hub.cert]).toEqual(FILES.map((f) => join(dir, f)));
    expect(FILES.map((f) => mode(join(dir, f)))).toEqual(["600", "644", "600", "644"]);
    expect(mode(dir)).toBe("700");
    expect(made.hub.names).toEqual(["DNS:hub.example.com", "IP:10.1.2.3"]);
    expect(made.ca.isCa).toBe(true);
    const days = (Date.parse(made.hub.notAfter) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(89.9);
    expect(days).toBeLessThan(90.1);
    expect(execFileSync("openssl", ["verify", "-CAfile", made.ca.cert, made.hub.cert], { encoding: "utf8" }).trim()).toBe(`${made.hub.cert}: OK`);
    const fp = execFileSync("openssl", ["x509", "-in", made.ca.cert, "-noout", "-fingerprint", "-sha256"], { encoding: "utf8" }).trim().replace(/^.*=/, "");
    expect(made.ca.sha256).toBe(fp);
    expect(r.out).not.toContain("PRIVATE KEY");
  });

  it("says what it made and how to use it, never a private key; a second run is refused and changes nothing", () => {
    const dir = join(root, "text");
    const r = covenant(["hub", "init", "--dir", dir, "--name", "hub.example.com"]);
    expect(r.code).toBe(0);
    const ca = execFileSync("openssl", ["x509", "-in", join(dir, "ca.pem"), "-noout", "-fingerprint", "-sha256"], { encoding: "utf8" }).trim().replace(/^.*=/, "");
    expect(r.out).toContain(`made a private CA and the hub's certificate in ${dir}:`);
    expect(r.out).toContain(`sha256   ${ca}`);
    expect(r.out).toContain("names    DNS:hub.example.com\n");
    expect(r.out).toContain(`  tls:\n    cert: ${join(dir, "hub.pem")}\n    key: ${join(dir, "hub.key")}\n`);
    expect(r.out).toContain("covenant enroll https://hub.example.com --token TOKEN --ca ca.pem");
    expect(r.out + r.err).not.toContain("PRIVATE KEY");
    for (const key of ["ca.key", "hub.key"]) expect(r.out).not.toContain(readFileSync(join(dir, key), "utf8").split("\n")[1]);
    const before = FILES.map((f) => readFileSync(join(dir, f)));
    const again = covenant(["hub", "init", "--dir", dir, "--name", "other.example.com"]);
    expect(again.code).toBe(2);
    expect(again.out).toBe("");
    expect(again.err).toBe(`covenant hub init: ${join(dir, "ca.key")}: exists: Covenant never overwrites a key or certificate (every host that trusts it would be cut off); move it aside, or choose another --dir\n`);
    expect(FILES.map((f) => readFileSync(join(dir, f)))).toEqual(before);
  });

  it("uses this machine's name and the loopback names when none is given", () => {
    const dir = join(root, "default");
    const r = covenant(["hub", "init", "--dir", dir, "--json"]);
    expect(r.code).toBe(0);
    const names = (JSON.parse(r.out) as { hub: { names: string[] } }).hub.names;
    expect(names).toEqual(expect.arrayContaining(["DNS:localhost", "IP:127.0.0.1", "IP:::1"]));
  });

  it("refuses bad names and days (exit 2), escaped, before making anything", () => {
    const dir = join(root, "bad");
    const name = covenant(["hub", "init", "--dir", dir, "--name", "hub\u001b[31m_x"]);
    expect(name.code).toBe(2);
    expect(name.err).toBe("covenant hub init: `hub\\x1b[31m_x` is neither a DNS name (letters, digits, hyphens and dots, such as hub.example.com) nor an IP address\n");
    for (const days of ["0", "3651", "1.5", "ten"]) {
      const r = covenant(["hub", "init", "--dir", dir, "--days", days]);
      expect(r.code, days).toBe(2);
      expect(r.err).toBe(`covenant hub init: --days wants a whole number from 1 to 3650, got \`${days}\`\n`);
    }
    expect(existsSync(dir)).toBe(false);
  });

  it("is listed under `covenant hub`", () => {
    const r = covenant(["hub", "--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/init \[options\]\s+make a private CA and the hub's certificate/);
  });
});

describe("the bundle", () => {
  it("loads the x509 library only in hub init's own chunk: no other command's start-up pays for it", () => {
    const dist = join(process.cwd(), "dist");
    /** Every chunk a module imports statically, transitively (dynamic imports are left out). */
    const closure = (file: string, seen = new Set<string>()): Set<string> => {
      if (seen.has(file)) return seen;
      seen.add(file);
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/(?:from|import)\s*"(\.\/[^"]+\.js)"/g)) closure(join(file, "..", m[1]!), seen);
      return seen;
    };
    // serverAuth's OID, and reflect-metadata's API: only in the code that makes certificates
    const x509 = (file: string) => /1\.3\.6\.1\.5\.5\.7\.3\.1|Reflect\.defineMetadata/.test(readFileSync(file, "utf8"));
    const loaded = closure(join(dist, "covenant.js"));
    expect(loaded.size).toBeGreaterThan(3);
    expect([...loaded].filter(x509)).toEqual([]);
    const chunks = readdirSync(join(dist, "chunks")).filter((f) => f.endsWith(".js"));
    const makers = chunks.filter((f) => x509(join(dist, "chunks", f)));
    expect(makers).toHaveLength(1);
    expect(makers[0]).toMatch(/^tls-ca-/);
  });
});
