// Package payload holds the webhook payload types that Alertmanager
// (version 4) and Grafana Alerting (version 1, a superset) send, with their
// validation. It knows the wire format, not incidents, and calls nothing:
// it is apart from the silence client of package alertmanager so that the
// bot's HTTP surface can decode webhooks without importing a client.
package payload

import (
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// Message is a webhook payload. Unknown fields are tolerated so that newer
// senders (notification_reason, routeLabels, …) keep working.
type Message struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []Alert           `json:"alerts"`

	// Since Alertmanager v0.32 and v0.34.
	NotificationReason string            `json:"notification_reason,omitempty"`
	RouteLabels        map[string]string `json:"routeLabels,omitempty"`

	// Grafana Alerting adds these.
	OrgID   int64  `json:"orgId,omitempty"`
	Title   string `json:"title,omitempty"`
	State   string `json:"state,omitempty"`
	Message string `json:"message,omitempty"`
}

// Alert is one alert of a Message.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`

	// Grafana Alerting adds these.
	Values       map[string]float64 `json:"values,omitempty"`
	ValueString  string             `json:"valueString,omitempty"`
	SilenceURL   string             `json:"silenceURL,omitempty"`
	DashboardURL string             `json:"dashboardURL,omitempty"`
	PanelURL     string             `json:"panelURL,omitempty"`
}

// Limits on what one payload may carry; beyond them it is refused (400)
// rather than stored. Alertmanager's own payloads stay far below.
const (
	MaxAlerts           = 1000
	MaxLabels           = 128 // per alert, for labels and annotations each
	MaxNameLen          = 256
	MaxValueLen         = 16 << 10
	MaxFingerprintLen   = 128
	VersionAlertmanager = "4"
	VersionGrafana      = "1"
)

// earliest and latest bound plausible alert times: a year-0 startsAt is a
// broken sender, not an incident.
var (
	earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	latest   = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Validate checks a payload of the given version ("4" for Alertmanager, "1"
// for Grafana) and returns the first problem as a one-line error.
func (m *Message) Validate(version string) error {
	if m.Version != version {
		return fmt.Errorf("unsupported version %q (want %q)", truncate(m.Version), version)
	}
	if len(m.Alerts) == 0 {
		return errors.New("no alerts")
	}
	if len(m.Alerts) > MaxAlerts {
		return fmt.Errorf("%d alerts; at most %d per payload", len(m.Alerts), MaxAlerts)
	}
	if m.Status != "firing" && m.Status != "resolved" {
		return fmt.Errorf("status %q (want firing or resolved)", truncate(m.Status))
	}
	if m.TruncatedAlerts < 0 {
		return errors.New("truncatedAlerts is negative")
	}
	for _, s := range []string{m.Receiver, m.GroupKey, m.ExternalURL} {
		if !utf8.ValidString(s) {
			return errors.New("invalid UTF-8")
		}
	}
	seen := make(map[string]bool, len(m.Alerts))
	for i := range m.Alerts {
		a := &m.Alerts[i]
		if err := a.validate(); err != nil {
			return fmt.Errorf("alert %d: %w", i, err)
		}
		if seen[a.Fingerprint] {
			return fmt.Errorf("alert %d: duplicate fingerprint %q", i, truncate(a.Fingerprint))
		}
		seen[a.Fingerprint] = true
	}
	return nil
}

func (a *Alert) validate() error {
	if a.Status != "firing" && a.Status != "resolved" {
		return fmt.Errorf("status %q (want firing or resolved)", truncate(a.Status))
	}
	if a.Fingerprint == "" || len(a.Fingerprint) > MaxFingerprintLen || !utf8.ValidString(a.Fingerprint) {
		return errors.New("fingerprint missing or malformed")
	}
	if len(a.Labels) == 0 {
		return errors.New("no labels")
	}
	if err := checkPairs("label", a.Labels); err != nil {
		return err
	}
	if err := checkPairs("annotation", a.Annotations); err != nil {
		return err
	}
	if a.StartsAt.Before(earliest) || a.StartsAt.After(latest) {
		return fmt.Errorf("startsAt %s out of range", a.StartsAt.Format(time.RFC3339))
	}
	// The zero time means "unset"; anything else must be plausible.
	if !a.EndsAt.IsZero() && (a.EndsAt.Before(earliest) || a.EndsAt.After(latest)) {
		return fmt.Errorf("endsAt %s out of range", a.EndsAt.Format(time.RFC3339))
	}
	if a.Status == "resolved" && !a.EndsAt.IsZero() && a.EndsAt.Before(a.StartsAt) {
		return errors.New("endsAt before startsAt")
	}
	for k, v := range a.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) || !utf8.ValidString(k) {
			return fmt.Errorf("value %q is not a finite number", k)
		}
	}
	if !utf8.ValidString(a.GeneratorURL) {
		return errors.New("generatorURL: invalid UTF-8")
	}
	return nil
}

func checkPairs(what string, m map[string]string) error {
	if len(m) > MaxLabels {
		return fmt.Errorf("%d %ss; at most %d", len(m), what, MaxLabels)
	}
	for k, v := range m {
		if k == "" || len(k) > MaxNameLen || !utf8.ValidString(k) {
			return fmt.Errorf("%s name %q invalid", what, truncate(k))
		}
		if len(v) > MaxValueLen || !utf8.ValidString(v) {
			return fmt.Errorf("%s %q: value too long or invalid UTF-8", what, truncate(k))
		}
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	if !utf8.ValidString(s) {
		return "(invalid UTF-8)"
	}
	return s
}
