// Package fleet holds multi-process system tests of examples/basic and the
// tokensession CLI, all on loopback:
//
//   - TestFleet (fleet_test.go): three instances sharing a keyring file,
//     one with its clock 3s ahead, 200 simulated users; the README's key
//     rotation run command for command with the CLI (add, list,
//     reschedule, promote, retire, prune) and rolled out with SIGHUP,
//     with a restart mid-rollout. No user may be logged out or lose an
//     item, no response may be a 5xx, and every cookie must end up
//     sealed by the new key.
//   - TestRolloutSlip (slip_test.go): a new key seals on one instance
//     before the other two have it. Their users may meet a 503 with
//     Retry-After (counted), never the anonymous page or a replaced
//     cookie; once the key reaches every instance, no user has lost a
//     login or an item.
//   - TestHostile (hostile_test.go): about 2000 hostile requests over raw
//     TCP against one instance; never a 5xx, memory bounded.
//   - TestSoak (soak_test.go, only with SOAK=1): a race-built instance under
//     64 clients for SOAK_DURATION; zero errors, heap and goroutines back to
//     their idle level.
//
// It is a nested module, so the root module's go test ./... does not run
// it: use fleet/run.sh (all but the soak) and fleet/soak.sh.
package fleet
