// A PostgreSQL database of its own for each test, on the server the development and CI machines
// run (127.0.0.1:5432, trust auth; test/global-setup.ts starts it when it is down), dropped after.
import { scratchDatabase } from "../../helpers/local-fixtures.mjs";

export const PG_ADMIN_URL = process.env["COVENANT_TEST_PG"] ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export function freshDatabase(): Promise<TestDatabase> {
  return scratchDatabase(PG_ADMIN_URL, "covenant_t_");
}
