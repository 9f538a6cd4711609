// withinBudget: a send that answers in time is what it answered; one that outlasts the budget is
// a retry (the run goes on); one that throws, against the contract, is a retry too.
import { describe, expect, it } from "vitest";
import type { Delivery } from "../../src/notifiers/contract.js";
import { withinBudget } from "../../src/notifiers/dispatch.js";
import { budgetFor } from "../../src/cli/run-notify.js";

const later = (ms: number, d: Delivery) => new Promise<Delivery>((resolve) => setTimeout(() => resolve(d), ms));

describe("a send within the delivery budget", () => {
  it("an answer in time is kept as it is", async () => {
    const sent: Delivery = { ok: true, providerId: "Q1", detail: "accepted" };
    expect(await withinBudget(later(5, sent), 1000)).toEqual(sent);
  });

  it("no answer before the budget ends: worth a retry, and the wait ends with the budget", async () => {
    const started = Date.now();
    const d = await withinBudget(later(5000, { ok: true, detail: "too late" }), 50);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(d).toMatchObject({ ok: false, retryable: true });
    expect(d.ok ? "" : d.error).toMatch(/delivery budget/);
  });

  it("a send that throws is a retry that says why", async () => {
    const d = await withinBudget(Promise.reject(new Error("boom")), 1000);
    expect(d).toMatchObject({ ok: false, retryable: true });
    expect(d.ok ? "" : d.error).toContain("boom");
  });

  it("a budget is cut to what is left before the run's hard stop, never below nothing", () => {
    expect(budgetFor(10_000, undefined, 0)).toBe(10_000);
    expect(budgetFor(10_000, 60_000, 0)).toBe(10_000);
    expect(budgetFor(120_000, 25_000, 0)).toBe(25_000);
    expect(budgetFor(10_000, 5_000, 9_000)).toBe(0);
  });
});
