// Package e2e holds warroom's end-to-end tests. They build the warroom
// binary once per test run and drive it as operators and Alertmanager do:
// over HTTP, with real Prometheus and Alertmanager processes where they are
// installed, and with SIGKILL to prove that nothing answered 200 is lost and
// that every side-effect step runs exactly once across crashes.
//
// Run them with `go test ./e2e/ -v -count=1`. A missing Prometheus or
// Alertmanager binary skips the test that needs it unless
// WARROOM_REQUIRE_E2E=1 (as in CI), which turns the skip into a failure.
package e2e
