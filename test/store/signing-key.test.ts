// The host's Ed25519 signing key and its rotation, on real stores: made at first use (0600, whole,
// PKCS#8), refused when it is not a key Covenant made or when others could have read it; rotated
// twice with records both keys sign, which `verify` checks (a signature re-MACed with the host key
// so that only it is wrong is still found, and so is a rotation that does not follow the one
// before); a rotation stopped part way is finished or started again.
import { chmodSync, copyFileSync, existsSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { generateKeyPairSync, verify } from "node:crypto";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { rotationStatement, signedRotation } from "../../src/store/rotation.ts";
import { fingerprintOf, generateSigningKey, pendingKeyPath, rawPublicKey, readSigningKey, signingKeyPath, storeSigningKey } from "../../src/store/signing-key.ts";
import { StateStore, type RotationBody } from "../../src/store/store.ts";
import { populated, removeTempDirs, rewrite } from "./helpers.ts";

afterAll(() => removeTempDirs());

const who = (reason: string) => ({ at: new Date().toISOString(), reason, by: "Alice Admin", user: "root", loginUid: 1000 });


function tamperingOf(dir: string) {
  const reader = StateStore.openReadOnly(dir);
  try {
    return reader.verify().tampering;
  } finally {
    reader.close();
  }
}

describe("the signing key", () => {
  it("is made at first use beside host.key: PKCS#8 PEM, mode 0600, and the same key after", () => {
    const { dir, store } = populated(2);
    expect(store.signingKey(false)).toBeUndefined();
    expect(existsSync(join(dir, "signing.key"))).toBe(false);
    const made = store.signingKey(true)!;
    const path = join(dir, "signing.key");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+-----END PRIVATE KEY-----\n$/);
    expect(made.fingerprint).toMatch(/^ed25519:[0-9a-f]{32}$/);
    expect(store.signingKey(true)!.fingerprint).toBe(made.fingerprint);
    expect(fingerprintOf(made.publicKey)).toBe(made.fingerprint);
    expect(rawPublicKey(made.publicKey)).toHaveLength(32);
    store.close();
  });

  it("refuses a file that is not an Ed25519 PEM key without quoting it, and a link in its place", () => {
    const { dir, store } = populated(1);
    const path = join(dir, "signing.key");
    writeFileSync(path, "SECRET-LOOKING-TEXT\n", { mode: 0o600 });
    expect(() => store.signingKey(true)).toThrow(/is not a PEM private key/);
    try {
      store.signingKey(true);
    } catch (err) {
      expect(String((err as Error).message)).not.toContain("SECRET-LOOKING-TEXT");
    }
    writeFileSync(path, generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString(), { mode: 0o600 });
    expect(() => store.signingKey(true)).toThrow(/is not an Ed25519 key \(ec\)/);
    const other = join(dir, "elsewhere.key");
    storeSigningKey(other, generateSigningKey());
    rmSync(path);
    symlinkSync(other, path);
    expect(() => store.signingKey(true)).toThrow(/is not a regular file|symbolic link|ELOOP/);
    store.close();
  });

  it.skipIf(process.getuid?.() !== 0)("as root, refuses a key others can read, naming the fix and never the key", () => {
    const { dir, store } = populated(1);
    store.signingKey(true);
    chmodSync(join(dir, "signing.key"), 0o644);
    store.close();
    expect(() => StateStore.openReadOnly(dir)).toThrow(/the signing key .*signing\.key can be read by others \(mode 0644\): whoever read it can sign evidence packs in the host's name/);
  });
});

describe("covenant key rotate's record", () => {
  it("rotates twice: both records verify, chain, and name the keys; the key in force is the last new key", () => {
    const { dir, store } = populated(2);
    const first = store.signingKey(true)!;
    const one = store.rotateSigningKey(who("yearly"));
    const two = store.rotateSigningKey(who("compromised laptop"));
    if ("finished" in one || "finished" in two) throw new Error("no rotation was unfinished");
    expect(one.old.fingerprint).toBe(first.fingerprint);
    expect(two.old.fingerprint).toBe(one.new.fingerprint);
    expect(store.signingKey(false)!.fingerprint).toBe(two.new.fingerprint);
    expect(readSigningKey(signingKeyPath(dir))!.fingerprint).toBe(two.new.fingerprint);
    expect(existsSync(pendingKeyPath(signingKeyPath(dir)))).toBe(false);
    expect(store.verify().tampering).toBeUndefined();
    const rotations = store.history().filter((e) => e.kind === "rotation");
    expect(rotations.map((e) => [e.seq, e.run, e.verified])).toEqual([
      [one.record, 0, true],
      [two.record, 0, true],
    ]);
    const body = rotations[1]!.body as RotationBody;
    expect(body).toMatchObject({ key: "signing", reason: "compromised laptop", by: "Alice Admin", user: "root", loginUid: 1000, old: { fingerprint: one.new.fingerprint }, new: { fingerprint: two.new.fingerprint } });
    // the statement each key signed is the record's own content
    const { signatures, ...unsigned } = body;
    expect(verify(null, rotationStatement(unsigned), two.old.publicKey, Buffer.from(signatures.old, "base64"))).toBe(true);
    expect(verify(null, rotationStatement(unsigned), two.new.publicKey, Buffer.from(signatures.new, "base64"))).toBe(true);
    // no private key in any record
    expect(JSON.stringify(store.history())).not.toMatch(/PRIVATE KEY/);
    store.close();
  });

  it("a signature changed and the record re-MACed with the host key is found by verify, naming the record and the key", () => {
    const { dir, store } = populated(2);
    store.signingKey(true);
    const done = store.rotateSigningKey(who("yearly"));
    store.close();
    if ("finished" in done) throw new Error("no rotation was unfinished");
    expect(tamperingOf(dir)).toBeUndefined();
    rewrite(dir, (r) => {
      if (r.kind !== "rotation") return undefined;
      const b = JSON.parse(r.body) as RotationBody;
      const sig = Buffer.from(b.signatures.new, "base64");
      sig[5]! ^= 0x01;
      b.signatures.new = sig.toString("base64");
      return JSON.stringify(b);
    });
    expect(tamperingOf(dir)).toEqual({ kind: "altered", seq: done.record, message: `rotation record ${done.record} does not hold: the new key's signature (${done.new.fingerprint}) does not verify over the rotation's statement` });
  });

  it("a reason rewritten (re-MACed) breaks both signatures; a rotation that does not follow the one before is found", () => {
    const { dir, store } = populated(2);
    store.signingKey(true);
    const one = store.rotateSigningKey(who("yearly"));
    const two = store.rotateSigningKey(who("again"));
    store.close();
    if ("finished" in one || "finished" in two) throw new Error("no rotation was unfinished");
    rewrite(dir, (r) => (r.seq === one.record ? r.body.replace('"yearly"', '"approved by the auditor"') : undefined));
    expect(tamperingOf(dir)?.message).toMatch(new RegExp(`^rotation record ${one.record} does not hold: the old key's signature .* does not verify`));
    // put it back, then make the second hand over from a key the first never put in force (both signatures genuine)
    rewrite(dir, (r) => (r.seq === one.record ? r.body.replace('"approved by the auditor"', '"yearly"') : undefined));
    expect(tamperingOf(dir)).toBeUndefined();
    const stranger = generateSigningKey();
    const next = generateSigningKey();
    const forged = signedRotation(stranger, next, who("forged"));
    rewrite(dir, (r) => (r.seq === two.record ? JSON.stringify(forged) : undefined));
    expect(tamperingOf(dir)?.message).toBe(`rotation record ${two.record} hands over from ${stranger.fingerprint}, but the rotation before it put ${one.new.fingerprint} in force: the rotations do not chain`);
  });

  it("refuses to rotate before there is a key; a rotation stopped before its record is started again, one stopped after it is finished", () => {
    const { dir, store } = populated(1);
    expect(() => store.rotateSigningKey(who("x"))).toThrow(/no signing key to rotate .* `covenant key export` makes the first one/);
    const first = store.signingKey(true)!;
    const path = signingKeyPath(dir);
    // stopped before its record: a waiting key no record names is not in force, and is replaced
    const orphan = generateSigningKey();
    storeSigningKey(pendingKeyPath(path), orphan);
    expect(store.signingKey(false)!.fingerprint).toBe(first.fingerprint);
    const done = store.rotateSigningKey(who("after a crash"));
    if ("finished" in done) throw new Error("the orphan was never in force");
    expect(done.old.fingerprint).toBe(first.fingerprint);
    expect(done.new.fingerprint).not.toBe(orphan.fingerprint);
    // stopped after its record: the record names the waiting key, which is the key in force until renamed
    const saved = join(dir, "saved-old.key");
    copyFileSync(path, saved);
    const again = store.rotateSigningKey(who("second"));
    if ("finished" in again) throw new Error("not unfinished");
    // put the state back to "record committed, key not yet renamed"
    renameSync(path, pendingKeyPath(path));
    copyFileSync(saved, path);
    chmodSync(path, 0o600);
    expect(store.signingKey(false)).toMatchObject({ fingerprint: again.new.fingerprint, waiting: true });
    const finished = store.rotateSigningKey(who("finish"));
    expect("finished" in finished && finished.finished.fingerprint).toBe(again.new.fingerprint);
    expect(readSigningKey(path)!.fingerprint).toBe(again.new.fingerprint);
    expect(existsSync(pendingKeyPath(path))).toBe(false);
    expect(store.verify().tampering).toBeUndefined();
    store.close();
  });

  it("a key replaced outside Covenant after a rotation is refused, not used", () => {
    const { dir, store } = populated(1);
    store.signingKey(true);
    store.rotateSigningKey(who("x"));
    const path = signingKeyPath(dir);
    rmSync(path);
    storeSigningKey(path, generateSigningKey());
    expect(() => store.signingKey(true)).toThrow(/is not the one the history's last rotation put in force .*: it was replaced outside Covenant/);
    rmSync(path);
    expect(() => store.signingKey(true)).toThrow(/is gone, but the history's last rotation put .* in force/);
    store.close();
  });
});
