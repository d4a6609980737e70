package incident

func title(a *Alert, dec Decision) string {
	if s := a.Annotations["summary"]; s != "" {
		return s
	}
	name := a.Labels["alertname"]
	if dec.Service != "" {
		return name + " on " + dec.Service
	}
	return name
}

func alertText(a *Alert, unit Unit) string {
	s := a.Labels["alertname"]
	if pod := a.Labels["pod"]; pod != "" {
		s += " " + pod
	}
	s += " (" + a.Fingerprint + ")"
	if a.Value != nil {
		s += " at " + unit.Format(*a.Value)
	}
	return s
}

func describe(a *Alert, dec Decision) string {
	if dec.Reason != "" {
		return a.Labels["alertname"] + " " + dec.Reason
	}
	return alertText(a, dec.Unit)
}
