package main

import (
	"encoding/json"
	"testing"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/integrations/alertmanager"
)

func deliveryFrom(t *testing.T, body []byte) *incident.Delivery {
	t.Helper()
	var m alertmanager.Message
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	d := &incident.Delivery{Source: incident.SourceAlertmanager, Receiver: m.Receiver, Status: m.Status}
	for _, a := range m.Alerts {
		d.Alerts = append(d.Alerts, incident.Alert{Fingerprint: a.Fingerprint, Status: incident.AlertStatus(a.Status),
			Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.StartsAt, Source: incident.SourceAlertmanager})
	}
	return d
}
