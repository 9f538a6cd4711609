// The hub's audit log: every action that changes something or exports evidence, appended in the
// same transaction as the change (the table refuses updates and deletes: migrations.ts).
import type { PoolClient, Pool } from "pg";

export async function audit(db: PoolClient | Pool, actor: string, action: string, object: string | null, detail: Record<string, unknown> = {}): Promise<void> {
  await db.query("INSERT INTO hub_audit (actor, action, object, detail) VALUES ($1, $2, $3, $4)", [actor, action, object, detail]);
}
