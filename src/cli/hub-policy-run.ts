// `covenant run --from-hub`: the policy run is the hub's version in force for this host. A new
// version is checked here, as any policy is, before it becomes the one this host runs; one that
// does not check (a checker or promise type this host lacks) is not run, and the last good version
// is, with a note. With the hub out of reach the last good version runs too. A host that has never
// had a version that checks has nothing to run: exit 2.
import { join } from "node:path";
import { adoptHubPolicy, fetchHubPolicy } from "../hub/client/policy.js";
import { EnrolmentError } from "../hub/client/enrolment.js";
import { HubTlsError } from "../hub/tls.js";
import { readSigningKey, signingKeyPath } from "../store/signing-key.js";
import { StoreError } from "../store/store.js";
import { loadCheckedPolicy } from "./checked-policy.js";
import { escapeText } from "./escape.js";
import { EXIT } from "./exit-codes.js";
import type { Io } from "./io.js";

export async function hubPolicyPaths(stateDir: string, today: string, io: Io): Promise<{ paths: string[]; notes: string[] } | number> {
  let fetched;
  try {
    const key = readSigningKey(signingKeyPath(stateDir));
    if (!key) {
      io.err(`covenant run: --from-hub: this host has no signing key in ${escapeText(stateDir)}: enroll it first (covenant enroll)`);
      return EXIT.policyError;
    }
    fetched = await fetchHubPolicy(stateDir, key);
  } catch (err) {
    if (err instanceof EnrolmentError || err instanceof StoreError || err instanceof HubTlsError) {
      io.err(`covenant run: --from-hub: ${escapeText(err.message)}`);
      return EXIT.policyError;
    }
    throw err;
  }
  const short = (c: string) => c.slice(0, 12);
  if (fetched.kind === "unchanged") return { paths: [fetched.dir], notes: [`the hub's policy ${short(fetched.content)}, as before`] };
  if (fetched.kind === "new") {
    const checked = loadCheckedPolicy([fetched.dir], { include: [], today }, io);
    if (typeof checked !== "number") {
      adoptHubPolicy(stateDir, fetched.content);
      return { paths: [fetched.dir], notes: [`the hub's policy version ${fetched.id} (${short(fetched.content)}) taken: it checks on this host`] };
    }
    if (fetched.current) return { paths: [fetched.current.dir], notes: [`the hub's policy version ${fetched.id} (${short(fetched.content)}) does not check on this host (above): the last good version ${short(fetched.current.content)} runs`] };
    io.err(`covenant run: --from-hub: the hub's policy version ${fetched.id} does not check on this host, and there is no earlier version to run`);
    return EXIT.policyError;
  }
  if (fetched.current) return { paths: [fetched.current.dir], notes: [`no policy from the hub (${escapeText(fetched.why)}): the last good version ${short(fetched.current.content)} runs`] };
  io.err(`covenant run: --from-hub: no policy from the hub: ${escapeText(fetched.why)}; this host has never run one (${escapeText(join(stateDir, "hub-policy"))} holds none)`);
  return EXIT.policyError;
}
