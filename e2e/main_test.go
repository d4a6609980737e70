package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// warroomBin is the path of the warroom binary built by TestMain, and
// buildErr the reason it could not be built.
var (
	warroomBin string
	buildErr   error
)

// TestMain builds the warroom binary once for every test of the package.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "warroom-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir for the binary:", err)
		os.Exit(2)
	}
	warroomBin = filepath.Join(dir, "warroom")
	buildErr = build(warroomBin)
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles ./cmd/warroom of this module into out. The test runs in
// the package directory, so the module root is its parent.
func build(out string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("go tool not found: %w", err)
	}
	cmd := exec.Command(goBin, "build", "-o", out, "./cmd/warroom")
	cmd.Dir = ".."
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/warroom: %w\n%s", err, b)
	}
	return nil
}

// requireWarroom returns the warroom binary or fails the test with the
// build error.
func requireWarroom(t *testing.T) string {
	t.Helper()
	if buildErr != nil {
		t.Fatalf("building warroom: %v", buildErr)
	}
	return warroomBin
}

// requireTool returns the path of the first of names found on PATH. A
// missing tool skips the test, unless WARROOM_REQUIRE_E2E=1 makes it a
// failure (CI installs the tools and must not pass by skipping).
func requireTool(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("WARROOM_REQUIRE_E2E") == "1" {
		t.Fatalf("%v not found on PATH and WARROOM_REQUIRE_E2E=1", names)
	}
	t.Skipf("%v not found on PATH (set WARROOM_REQUIRE_E2E=1 to make this a failure)", names)
	return ""
}
