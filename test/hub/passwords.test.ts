// The password hash (scrypt, parameters kept with it, compared in constant time) and the access
// rules' own checks, without a server.
import { afterEach, describe, expect, it, vi } from "vitest";

const compared: [number, number][] = [];
vi.mock("node:crypto", async (original) => {
  const real = await original<typeof import("node:crypto")>();
  return {
    ...real,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      compared.push([a.byteLength, b.byteLength]);
      return real.timingSafeEqual(a, b);
    },
  };
});

const { hashPassword, verifyPassword, verifyUnknown, needsRehash, parseHash, passwordProblem, CURRENT_PARAMS } = await import("../../src/hub/auth/passwords.js");
const { ruleProblems, USER_ROUTES } = await import("../../src/hub/auth/rules.js");
const { accessFor } = await import("../../src/hub/auth/access.js");

afterEach(() => {
  compared.length = 0;
});

describe("passwords", () => {
  it("hashes with scrypt N=2^15, r=8, p=1 and a fresh 16-byte salt, and verifies through timingSafeEqual", async () => {
    expect(CURRENT_PARAMS).toEqual({ N: 32768, r: 8, p: 1 });
    const a = await hashPassword("twelve chars ok");
    const b = await hashPassword("twelve chars ok");
    expect(a).not.toBe(b);
    const parsed = parseHash(a)!;
    expect(parsed.params).toEqual(CURRENT_PARAMS);
    expect(parsed.salt.length).toBe(16);
    expect(await verifyPassword("twelve chars ok", a)).toBe(true);
    expect(await verifyPassword("twelve chars no", a)).toBe(false);
    // both comparisons made in constant time, over the full 32-byte keys
    expect(compared).toEqual([[32, 32], [32, 32]]);
  });

  it("does the same work for a user that does not exist, and never matches", async () => {
    expect(await verifyUnknown("anything at all")).toBe(false);
    expect(compared.at(-1)).toEqual([32, 32]);
  });

  it("keeps the parameters with the hash: a weaker one verifies and asks to be replaced; a forged one never matches", async () => {
    const weak = await hashPassword("twelve chars ok", { N: 2 ** 14, r: 8, p: 1 });
    expect(weak).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyPassword("twelve chars ok", weak)).toBe(true);
    expect(needsRehash(weak)).toBe(true);
    expect(needsRehash(await hashPassword("twelve chars ok"))).toBe(false);
    // parameters below the floor or absurdly high (a row changed to stall the hub) are not a hash the hub takes
    for (const forged of [weak.replace("$16384$", "$1024$"), weak.replace("$16384$", "$1073741824$"), weak.replace("$16384$8$", "$262144$16$"), "plain text", ""]) expect(await verifyPassword("twelve chars ok", forged)).toBe(false);
  });

  it("asks for at least 12 characters", () => {
    expect(passwordProblem("eleven char")).toBe("a password must have at least 12 characters");
    expect(passwordProblem("twelve chars")).toBeUndefined();
    expect(passwordProblem(" twelve chars ")).toMatch(/white space/);
  });
});

describe("the access rules", () => {
  it("hold together (declared once, writes audited, roles given only reaches their scope allows)", () => {
    expect(ruleProblems()).toEqual([]);
  });

  it("find what is wrong with a declaration", () => {
    const bad = [
      { ...USER_ROUTES[3]!, id: "a", path: "/api/x", who: { operations: "controls" as const } },
      { ...USER_ROUTES[4]!, id: "b", path: "/api/y", audited: false },
      { ...USER_ROUTES[3]!, id: "c", path: "/api/z", method: "POST" as const },
      { ...USER_ROUTES[3]!, id: "d", path: "/other" },
    ];
    expect(ruleProblems(bad)).toEqual([
      "GET /api/x: operations cannot be given reach controls",
      "POST /api/y: what changes something or exports is written to the audit log",
      "POST /api/z: a POST is a write",
      "POST /api/z: what changes something or exports is written to the audit log",
      "GET /other: people's routes are under /api/",
    ]);
  });

  it("give a user the union of their grants", () => {
    const hosts = USER_ROUTES.find((r) => r.id === "hosts.list")!;
    const ops = { id: 1, role: "operations" as const, scopeKind: "group" as const, scopeValue: "web" };
    const auditor = { id: 2, role: "auditor" as const, scopeKind: null, scopeValue: null };
    expect(accessFor(hosts, [ops])).toMatchObject({ allHosts: false, groups: ["web"] });
    expect(accessFor(hosts, [ops, auditor])).toMatchObject({ allHosts: true });
    expect(accessFor(hosts, [{ id: 3, role: "author", scopeKind: null, scopeValue: null }])).toBeUndefined();
  });
});
