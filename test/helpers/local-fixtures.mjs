// What the tests and the benchmarks both make for a server on this machine: a certificate for
// 127.0.0.1 that is its own issuer (EC keys: quick to make; the `selfsigned` dev dependency), and
// a PostgreSQL database of their own, created and dropped through an administrator's URL. Plain
// JavaScript, so that bench/*.mjs imports it as it is; the tests import it with its types
// (local-fixtures.d.mts).
import { randomBytes } from "node:crypto";
import pg from "pg";
import { generate } from "selfsigned";

/** A certificate for 127.0.0.1 (and `localhost` when asked), its own CA, and its key, as PEM. */
export async function localCertificate({ commonName = "127.0.0.1", localhost = false } = {}) {
  const altNames = [{ type: 7, ip: "127.0.0.1" }, ...(localhost ? [{ type: 2, value: "localhost" }] : [])];
  const pems = await generate([{ name: "commonName", value: commonName }], {
    keyType: "ec",
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", digitalSignature: true, keyCertSign: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A database of its own on the server `adminUrl` reaches, named `prefix` and random hex; `drop` removes it. */
export async function scratchDatabase(adminUrl, prefix) {
  const name = `${prefix}${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
