// The hub's TLS pieces with real certificates: a CA and the hub's certificate made by makeHubCa,
// checked by openssl; a real HTTPS server on 127.0.0.1 with hub.key and hub.pem, reached through
// httpsAgentFor(ca.pem) (and refused with another CA, with a name the certificate does not hold,
// and with the other CA given as NODE_EXTRA_CA_CERTS); the files' modes; nothing overwritten;
// keys others can read refused as root; a second certificate from the same CA.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, get, type Agent, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueHubCertificate, makeHubCa } from "../../src/hub/tls-ca.ts";
import { hubNames } from "../../src/hub/tls-names.ts";
import { certificateSummary, httpsAgentFor, HubTlsError, loadServerTls } from "../../src/hub/tls.ts";

const root = mkdtempSync(join(tmpdir(), "covenant-hubtls-"));
const asRoot = process.getuid?.() === 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
const fresh = (): string => join(root, `d${++n}`, "tls");

/** Where `name` is looked up, the test answers 127.0.0.1: a request names the host the certificate must hold. */
function loopback(_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void): void {
  if (opts.all) cb(null, [{ address: "127.0.0.1", family: 4 }]);
  else cb(null, "127.0.0.1", 4);
}

/** GET / at `host` (resolved to 127.0.0.1) through the agent: the body, or the TLS error's code. */
function fetchThrough(agent: Agent, host: string, port: number): Promise<{ body?: string; code?: string }> {
  return new Promise((resolve) => {
    const req = get({ host, port, path: "/", agent, lookup: loopback as never }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => resolve({ body: Buffer.concat(parts).toString("utf8") }));
    });
    req.on("error", (err: NodeJS.ErrnoException) => resolve({ code: err.code ?? err.message }));
  });
}

function serve(tls: { cert: Buffer; key: Buffer }): Promise<{ server: Server; port: number }> {
  const server = createServer(tls, (_req, res) => res.end("hub here"));
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as AddressInfo).port })));
}

const openssl = (args: string[]): string => execFileSync("openssl", args, { encoding: "utf8" });

describe("makeHubCa", () => {
  let dir: string;
  let other: string;
  let server: Server;
  let port: number;
  beforeAll(async () => {
    dir = fresh();
    other = fresh();
    await makeHubCa({ dir, names: ["hub.example.com", "localhost", "127.0.0.1", "::1"], days: 30 });
    await makeHubCa({ dir: other, names: ["hub.example.com", "127.0.0.1"], days: 30 });
    ({ server, port } = await serve(loadServerTls({ cert: join(dir, "hub.pem"), key: join(dir, "hub.key") })));
  });
  afterAll(() => server?.close());

  it("writes the CA's and the hub's keys 0600 and certificates 0644, in a directory it made 0700", () => {
    const mode = (p: string) => (statSync(p).mode & 0o7777).toString(8);
    expect(mode(dir)).toBe("700");
    expect(mode(join(dir, "ca.key"))).toBe("600");
    expect(mode(join(dir, "hub.key"))).toBe("600");
    expect(mode(join(dir, "ca.pem"))).toBe("644");
    expect(mode(join(dir, "hub.pem"))).toBe("644");
    for (const key of ["ca.key", "hub.key"]) expect(readFileSync(join(dir, key), "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/);
  });

  it("makes a certificate openssl verifies against the CA: ECDSA P-256, sha256, serverAuth, not a CA, the names as SANs", () => {
    expect(openssl(["verify", "-CAfile", join(dir, "ca.pem"), join(dir, "hub.pem")]).trim()).toBe(`${join(dir, "hub.pem")}: OK`);
    const text = openssl(["x509", "-in", join(dir, "hub.pem"), "-noout", "-text"]);
    expect(text).toContain("Signature Algorithm: ecdsa-with-SHA256");
    expect(text).toContain("NIST CURVE: P-256");
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/Extended Key Usage:\s*\n\s*TLS Web Server Authentication\s*\n/);
    expect(text).toMatch(/DNS:hub\.example\.com, DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1/);
    const ca = openssl(["x509", "-in", join(dir, "ca.pem"), "-noout", "-text"]);
    expect(ca).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(ca).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    // the other CA did not sign this certificate
    expect(spawnSync("openssl", ["verify", "-CAfile", join(other, "ca.pem"), join(dir, "hub.pem")]).status).not.toBe(0);
  });

  it("serves HTTPS that an agent trusting only ca.pem reaches at each name of the certificate", async () => {
    const agent = httpsAgentFor(readFileSync(join(dir, "ca.pem")));
    try {
      for (const host of ["hub.example.com", "localhost", "127.0.0.1"]) expect(await fetchThrough(agent, host, port)).toEqual({ body: "hub here" });
    } finally {
      agent.destroy();
    }
  });

  it("is refused by an agent trusting another CA, and at a name the certificate does not hold", async () => {
    const stranger = httpsAgentFor(readFileSync(join(other, "ca.pem")));
    const agent = httpsAgentFor(readFileSync(join(dir, "ca.pem")));
    try {
      expect((await fetchThrough(stranger, "hub.example.com", port)).code).toBe("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
      expect((await fetchThrough(agent, "other.example.com", port)).code).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
    } finally {
      stranger.destroy();
      agent.destroy();
    }
  });

  it("trusts no CA but the one given: not even one NODE_EXTRA_CA_CERTS adds to the system's", async () => {
    // a child, since Node reads NODE_EXTRA_CA_CERTS at start: it adds the CA that signed the hub's
    // certificate to the system's; an agent trusting `other`'s CA only is still refused, while
    // Node's default agent (the control: the variable took effect) is let in
    const script = `
      import { readFileSync } from "node:fs";
      import { get, globalAgent } from "node:https";
      import { httpsAgentFor } from ${JSON.stringify(join(process.cwd(), "src/hub/tls.ts"))};
      const ask = (agent) => new Promise((resolve) => get({ host: "127.0.0.1", port: ${port}, agent }, (r) => { r.resume(); resolve("ok"); }).on("error", (e) => resolve(e.code)));
      const only = httpsAgentFor(readFileSync(${JSON.stringify(join(other, "ca.pem"))}));
      console.log(JSON.stringify({ only: await ask(only), systemWide: await ask(globalAgent) }));
      only.destroy(); globalAgent.destroy();`;
    // not spawnSync: the server answering the child is in this process
    const r = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, "ca.pem") }, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      child.on("error", reject);
      child.on("close", () => resolve({ stdout, stderr }));
    });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ only: "UNABLE_TO_VERIFY_LEAF_SIGNATURE", systemWide: "ok" });
  });

  it("summarises a certificate as openssl does: its names, expiry and SHA-256 fingerprint", () => {
    const s = certificateSummary(readFileSync(join(dir, "hub.pem")));
    expect(s.names).toEqual(["DNS:hub.example.com", "DNS:localhost", "IP:127.0.0.1", "IP:::1"]);
    expect(s.isCa).toBe(false);
    expect(s.subject).toBe("CN=hub.example.com, O=Covenant hub");
    const days = (Date.parse(s.notAfter) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThan(30.1);
    const fp = openssl(["x509", "-in", join(dir, "hub.pem"), "-noout", "-fingerprint", "-sha256"]).trim().replace(/^.*=/, "");
    expect(s.sha256).toBe(fp);
    expect(certificateSummary(readFileSync(join(dir, "ca.pem"))).isCa).toBe(true);
  });

  it("never overwrites: a second run in the same directory is refused, naming the file, and changes nothing", async () => {
    const before = ["ca.key", "ca.pem", "hub.key", "hub.pem"].map((f) => readFileSync(join(dir, f)));
    await expect(makeHubCa({ dir, names: ["localhost"], days: 30 })).rejects.toThrow(new RegExp(`^${join(dir, "ca.key")}: exists: Covenant never overwrites`));
    expect(["ca.key", "ca.pem", "hub.key", "hub.pem"].map((f) => readFileSync(join(dir, f)))).toEqual(before);
  });

  it("refuses a directory holding any one of the files, and writes none of the others", async () => {
    const d = fresh();
    mkdirSync(d, { recursive: true, mode: 0o700 });
    writeFileSync(join(d, "hub.pem"), "kept\n");
    await expect(makeHubCa({ dir: d, names: ["localhost"], days: 30 })).rejects.toThrow(`${join(d, "hub.pem")}: exists`);
    expect(["ca.key", "ca.pem", "hub.key"].filter((f) => existsSync(join(d, f)))).toEqual([]);
    expect(readFileSync(join(d, "hub.pem"), "utf8")).toBe("kept\n");
  });

  it("issues a second hub certificate from the same CA, with a key of its own, that clients trusting ca.pem accept", async () => {
    const out = fresh();
    const made = await issueHubCertificate(dir, ["hub2.example.com"], out, 10);
    expect(made.cert.summary.names).toEqual(["DNS:hub2.example.com"]);
    expect(openssl(["verify", "-CAfile", join(dir, "ca.pem"), join(out, "hub.pem")]).trim()).toBe(`${join(out, "hub.pem")}: OK`);
    expect(readFileSync(join(out, "hub.key"))).not.toEqual(readFileSync(join(dir, "hub.key")));
    const second = await serve(loadServerTls({ cert: join(out, "hub.pem"), key: join(out, "hub.key") }));
    const agent = httpsAgentFor(readFileSync(join(dir, "ca.pem")));
    try {
      expect(await fetchThrough(agent, "hub2.example.com", second.port)).toEqual({ body: "hub here" });
    } finally {
      agent.destroy();
      second.server.close();
    }
    await expect(issueHubCertificate(dir, ["hub2.example.com"], out)).rejects.toThrow(`${join(out, "hub.key")}: exists`);
  });

  it("refuses to issue with a CA key that is not the CA certificate's", async () => {
    const mixed = fresh();
    mkdirSync(mixed, { recursive: true, mode: 0o700 });
    copyFileSync(join(other, "ca.key"), join(mixed, "ca.key"));
    chmodSync(join(mixed, "ca.key"), 0o600);
    copyFileSync(join(dir, "ca.pem"), join(mixed, "ca.pem"));
    await expect(issueHubCertificate(mixed, ["x.example"], fresh())).rejects.toThrow(`${join(mixed, "ca.key")}: is not the key of ${join(mixed, "ca.pem")}`);
  });
});

describe("httpsAgentFor", () => {
  it("refuses a file that holds no certificate, or the hub's own certificate instead of its CA", async () => {
    const dir = fresh();
    await makeHubCa({ dir, names: ["localhost"], days: 1 });
    expect(() => httpsAgentFor(Buffer.from("not a certificate"), "ca.pem")).toThrow("ca.pem: holds no PEM certificate");
    expect(() => httpsAgentFor(readFileSync(join(dir, "hub.pem")), "hub.pem")).toThrow(/^hub\.pem: holds a certificate that is not a CA \(CN=localhost, O=Covenant hub\)/);
  });
});

describe("hub names", () => {
  it("sorts DNS names from IP addresses, lower-cased, once each, and refuses what is neither", () => {
    expect(hubNames(["Hub.Example.com", "10.0.0.5", "hub.example.com", "::1", "*.hub.example.com"])).toEqual({ dns: ["hub.example.com", "*.hub.example.com"], ip: ["10.0.0.5", "::1"] });
    for (const bad of ["", "bad_name", "-x.example", "a..b", "x.example.", "hub example", "a".repeat(64) + ".example"]) expect(() => hubNames([bad]), bad).toThrow(HubTlsError);
    expect(() => hubNames([])).toThrow("at least one name");
  });

  it("refuses days out of range before making anything", async () => {
    const d = fresh();
    await expect(makeHubCa({ dir: d, names: ["localhost"], days: 0 })).rejects.toThrow("the days must be a whole number from 1 to 3650");
    await expect(makeHubCa({ dir: d, names: ["localhost"], days: 3651 })).rejects.toThrow(HubTlsError);
    expect(existsSync(d)).toBe(false);
  });
});

describe("loadServerTls", () => {
  let dir: string;
  beforeAll(async () => {
    dir = fresh();
    await makeHubCa({ dir, names: ["localhost"], days: 1 });
  });

  it("reads the certificate, key and CA as they are", () => {
    const tls = loadServerTls({ cert: join(dir, "hub.pem"), key: join(dir, "hub.key"), ca: join(dir, "ca.pem") });
    expect(tls.cert).toEqual(readFileSync(join(dir, "hub.pem")));
    expect(tls.key).toEqual(readFileSync(join(dir, "hub.key")));
    expect(tls.ca).toEqual(readFileSync(join(dir, "ca.pem")));
  });

  it("says which file is missing or not PEM", () => {
    expect(() => loadServerTls({ cert: join(dir, "none.pem"), key: join(dir, "hub.key") })).toThrow(`${join(dir, "none.pem")}: does not exist`);
    expect(() => loadServerTls({ cert: join(dir, "hub.key"), key: join(dir, "hub.key") })).toThrow(`${join(dir, "hub.key")}: holds no PEM certificate`);
    copyFileSync(join(dir, "ca.pem"), join(dir, "cert-as.key"));
    chmodSync(join(dir, "cert-as.key"), 0o600);
    expect(() => loadServerTls({ cert: join(dir, "hub.pem"), key: join(dir, "cert-as.key") })).toThrow(`${join(dir, "cert-as.key")}: is not a PEM private key`);
  });

  it("follows a link root owns (a secrets mount), and as root refuses one another user owns", () => {
    symlinkSync(join(dir, "hub.key"), join(dir, "link.key"));
    expect(loadServerTls({ cert: join(dir, "hub.pem"), key: join(dir, "link.key") }).key).toEqual(readFileSync(join(dir, "hub.key")));
    if (!asRoot) return;
    execFileSync("chown", ["-h", "65534:65534", join(dir, "link.key")]);
    expect(() => loadServerTls({ cert: join(dir, "hub.pem"), key: join(dir, "link.key") })).toThrow(`the link ${join(dir, "link.key")}, on the way to the key ${join(dir, "link.key")}, is owned by uid 65534, not root`);
  });

  it.skipIf(!asRoot)("as root, refuses a key others or its group can read, and files another user owns or can write", () => {
    const d = fresh();
    mkdirSync(d, { recursive: true, mode: 0o700 });
    for (const f of ["hub.key", "hub.pem"]) copyFileSync(join(dir, f), join(d, f));
    chmodSync(join(d, "hub.key"), 0o640);
    expect(() => loadServerTls({ cert: join(d, "hub.pem"), key: join(d, "hub.key") })).toThrow(`${join(d, "hub.key")}: can be read by its group (mode 0640)`);
    chmodSync(join(d, "hub.key"), 0o600);
    chmodSync(join(d, "hub.pem"), 0o666);
    expect(() => loadServerTls({ cert: join(d, "hub.pem"), key: join(d, "hub.key") })).toThrow(`${join(d, "hub.pem")}: is writable by others (mode 0666)`);
    chmodSync(join(d, "hub.pem"), 0o644);
    chownSync(join(d, "hub.key"), 65534, 65534);
    expect(() => loadServerTls({ cert: join(d, "hub.pem"), key: join(d, "hub.key") })).toThrow(`${join(d, "hub.key")}: is owned by uid 65534, not root`);
    chownSync(join(d, "hub.key"), 0, 0);
    expect(loadServerTls({ cert: join(d, "hub.pem"), key: join(d, "hub.key") }).key.length).toBeGreaterThan(0);
  });
});

describe.skipIf(!asRoot)("as root, the directory", () => {
  it("is refused when others can write it or another user owns it, and nothing is written there", async () => {
    const open = fresh();
    mkdirSync(open, { recursive: true });
    chmodSync(open, 0o777);
    await expect(makeHubCa({ dir: open, names: ["localhost"], days: 1 })).rejects.toThrow(/the TLS directory .* is writable by group and others \(mode 0777\)/);
    const theirs = fresh();
    mkdirSync(theirs, { recursive: true, mode: 0o700 });
    chownSync(theirs, 65534, 65534);
    await expect(makeHubCa({ dir: theirs, names: ["localhost"], days: 1 })).rejects.toThrow(/the TLS directory .* is owned by uid 65534, not root/);
    expect(existsSync(join(open, "ca.key")) || existsSync(join(theirs, "ca.key"))).toBe(false);
  });

  it("is not reached through a link another user owns", async () => {
    const target = fresh();
    mkdirSync(target, { recursive: true, mode: 0o700 });
    const link = join(root, `link${++n}`);
    symlinkSync(target, link);
    execFileSync("chown", ["-h", "65534:65534", link]);
    await expect(makeHubCa({ dir: link, names: ["localhost"], days: 1 })).rejects.toThrow(/the link .* is owned by uid 65534, not root/);
    expect(existsSync(join(target, "ca.key"))).toBe(false);
  });
});
