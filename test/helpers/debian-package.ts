// The system's own tool a live cross-check compares Covenant with, installed from Debian when it
// is missing, so that the comparison runs on a clean machine (CI) instead of being skipped. The
// code is scripts/debian-package.mjs, shared with the benchmarks (bench/lib.mjs), which must not
// import from test/: as root only, argv only, noninteractive, without recommends, no service
// started (a policy-rc.d that exits 101 for the install), installs taking turns under a lock.
export { ensureDebianTool, findProgram, POLICY_RC_D, withServicesHeld } from "../../scripts/debian-package.mjs";
