// Package fleet holds multi-process system tests of examples/basic and the
// tokensession CLI, all on loopback:
//
//   - TestFleet (fleet_test.go): three instances sharing a keyring file,
//     one with its clock 3s ahead, 200 simulated users; a staged key
//     rotation rolled out with the CLI and SIGHUP, a restart, retire and
//     prune. No user may be logged out or lose an item, and every cookie
//     must end up sealed by the new key.
//   - TestHostile (hostile_test.go): about 2000 hostile requests over raw
//     TCP against one instance; never a 5xx, memory bounded.
//   - TestResealAcrossClockSkew, TestStagedKeyNotDowngraded (skew_test.go):
//     minimal in-process reproductions of what the fleet test found.
//   - TestSoak (soak_test.go, only with SOAK=1): a race-built instance under
//     64 clients for SOAK_DURATION; zero errors, heap and goroutines back to
//     their idle level.
//
// It is a nested module, so the root module's go test ./... does not run
// it: use fleet/run.sh (all but the soak) and fleet/soak.sh.
package fleet
