package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/warroom/warroom/bot"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/integrations/alertmanager/payload"
)

// simulate prints, without side effects, what warroom would decide for
// each alert of a payload and the calls a war room would open with: the
// plans of its opening steps, one call a line.
func simulate(args []string, stdout io.Writer) error {
	fs := newFlags("simulate")
	path := fs.String("config", "", "config `FILE` (default: embedded defaults)")
	output := fs.String("o", "text", "output `FORMAT`: text or json")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return fmt.Errorf("%w: simulate takes one PAYLOAD.json", errUsage)
	}
	if err := oneOf(*output, "text", "json"); err != nil {
		return err
	}
	cfg, err := loadConfig(*path, os.Stderr)
	if err != nil {
		return err
	}
	set, err := cfg.RuleSet()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(rest[0])
	if err != nil {
		return err
	}
	var msg payload.Message
	if err := json.Unmarshal(data, &msg); err != nil {
		return fmt.Errorf("%s: malformed JSON: %w", rest[0], err)
	}
	source, version := incident.SourceAlertmanager, payload.VersionAlertmanager
	if msg.Version == payload.VersionGrafana {
		source, version = incident.SourceGrafana, payload.VersionGrafana
	}
	if err := msg.Validate(version); err != nil {
		return fmt.Errorf("%s: invalid payload: %w", rest[0], err)
	}
	sim := bot.Simulate(cfg, set, &msg, source, time.Now())
	if *output == "json" {
		return printJSON(stdout, sim)
	}
	for _, a := range sim {
		fmt.Fprintf(stdout, "alert %s (%s, %s): %s by rule %q — %s\n", a.Fingerprint, a.Alertname, a.Status, a.Decision, a.Rule, a.Reason)
		for _, c := range a.Calls {
			var args bytes.Buffer // the text as sent: "<", ">" and "&" not escaped
			enc := json.NewEncoder(&args)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(c.Args); err != nil {
				return fmt.Errorf("%s: %w", c.Step, err)
			}
			fmt.Fprintf(stdout, "  %s: would call %s %s %s", c.Step, c.System, c.Method, args.Bytes())
		}
		for _, p := range a.Problems {
			fmt.Fprintf(stdout, "  would fail: %s\n", p)
		}
	}
	return nil
}
