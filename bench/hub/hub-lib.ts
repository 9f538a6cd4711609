// What bench/hub takes from Covenant's own sources, bundled by run.mjs with esbuild (the hub's
// modules are not in the library entry): the push protocol as a host signs it, the record line
// as a pack's extract and a push hold it, the real enrolment-token maker, and the pieces of the
// push path that profile.mjs times one by one.
export { encodeBody, signBody, hubChainStart, hubChainNext, PROTOCOL, PROTOCOL_VERSION, pushShapeProblem, readPushedLine, signatureHolds } from "../../src/hub/protocol.js";
export { extractLine } from "../../src/evidence/manifest.js";
export { rawPublicKey, fingerprintOf } from "../../src/store/signing-key.js";
export { makeEnrollToken } from "../../src/hub/admin.js";
export { takePush } from "../../src/hub/server/push.js";
export { hostKey } from "../../src/hub/server/host-auth.js";
export { makePool } from "../../src/hub/db/pool.js";
export { migrate } from "../../src/hub/db/migrations.js";
export { ensureMonthPartitions } from "../../src/hub/db/partitions.js";
export { takeEnrollment } from "../../src/hub/server/enroll.js";
export { createUser } from "../../src/hub/auth/users.js";
export { recomputeRollup } from "../../src/hub/dashboard/overview-rollup.js";
export { hubSigningKey } from "../../src/hub/signing.js";
