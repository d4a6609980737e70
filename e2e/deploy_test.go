package e2e

import "testing"

// The example Prometheus rules and Alertmanager config that the README
// points operators at are checked by the real tools: rules by promtool
// (syntax and unit tests), routing by amtool.
func TestDeployExamples(t *testing.T) {
	promtool := requireTool(t, "promtool")
	amtool := requireTool(t, "amtool")
	runTool(t, promtool, "check", "rules", "../deploy/prometheus/rules.yml")
	runTool(t, promtool, "test", "rules", "../deploy/prometheus/rules_test.yml")
	runTool(t, amtool, "check-config", "../deploy/alertmanager/alertmanager.yml")
}

// The rules that watch warroom itself (deploy/prometheus/warroom-rules.yml)
// are checked and unit-tested by promtool.
func TestWarroomRules(t *testing.T) {
	promtool := requireTool(t, "promtool")
	runTool(t, promtool, "check", "rules", "../deploy/prometheus/warroom-rules.yml")
	runTool(t, promtool, "test", "rules", "../deploy/prometheus/warroom-rules.test.yml")
}

// The runbook's golden signals (deploy/prometheus/golden-signals.yml), the
// alerts the reference rules of examples/warroom.yaml read, are checked and
// unit-tested by promtool.
func TestGoldenSignalRules(t *testing.T) {
	promtool := requireTool(t, "promtool")
	runTool(t, promtool, "check", "rules", "../deploy/prometheus/golden-signals.yml")
	runTool(t, promtool, "test", "rules", "../deploy/prometheus/golden-signals.test.yml")
}
