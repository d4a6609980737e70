package incident

import (
	"fmt"
	"maps"
	"strings"
	"time"
)

// attach stores the firing alert on c.inc and says what changed. In a
// storm most alerts are new, so it tries the insert first. below says
// which way values are worse.
func (s *Service) attach(c *change, a *Alert, opening, below bool, att *attachments) (Outcome, error) {
	inserted, err := c.tx.InsertAlert(c.inc.ID, a)
	if err != nil {
		return "", err
	}
	outcome := OutcomeAttached
	var old *Alert
	if inserted {
		if !opening {
			att.add(c.inc, alertText(a, c.inc.Unit))
		}
	} else {
		old, err = c.tx.Alert(c.inc.ID, a.Fingerprint)
		if err != nil {
			return "", err
		}
		if old == nil { // the store said it had it: a store bug, not a crash
			return "", fmt.Errorf("alert %s of %s: not new, yet not stored", a.Fingerprint, c.inc.ID)
		}
		outcome = OutcomeUpdated
		switch {
		case old.Status == AlertResolved:
			if err := c.event(EventAlertRefired, ActorAlert, "alert firing again: "+alertText(a, c.inc.Unit)); err != nil {
				return "", err
			}
		case sameAlert(old, a):
			return OutcomeUnchanged, nil
		}
		if err := c.tx.PutAlert(c.inc.ID, a); err != nil {
			return "", err
		}
	}
	if err := noteFiring(c, old, a, below); err != nil {
		return "", err
	}
	c.dirty = true
	return outcome, nil
}

// noteFiring keeps the incident's value that of its worst firing alert,
// and its peak the worst value seen, now that a fires, replacing old (nil
// for a new alert). It reads the store only when the alert that held the
// worst value got better: another alert may now be the worst.
func noteFiring(c *change, old, a *Alert, below bool) error {
	if a.Value != nil {
		v := *a.Value
		if c.inc.PeakValue == nil || worse(v, *c.inc.PeakValue, below) {
			p := v
			c.inc.PeakValue = &p
		}
		if c.inc.Value == nil || worse(v, *c.inc.Value, below) {
			return setValue(c.tx, c.inc, v, c.now)
		}
	}
	if old != nil && old.Status == AlertFiring && heldWorst(c.inc, old) && !equalValue(old.Value, a.Value) {
		return refreshWorst(c, below)
	}
	return nil
}

// heldWorst reports whether the alert's value is the incident's.
func heldWorst(inc *Incident, a *Alert) bool {
	return a.Value != nil && inc.Value != nil && *a.Value == *inc.Value
}

// refreshWorst sets the incident's value to that of its worst firing
// alert, unchanged when none has a value.
func refreshWorst(c *change, below bool) error {
	w, err := c.tx.WorstFiringAlert(c.inc.ID, below)
	if err != nil {
		return err
	}
	if w != nil && w.Value != nil {
		return setValue(c.tx, c.inc, *w.Value, c.now)
	}
	return nil
}

// worse reports whether v is worse than w: higher, or lower for a rule
// that fires below its threshold.
func worse(v, w float64, below bool) bool {
	if below {
		return v < w
	}
	return v > w
}

// attachments gathers the alerts one delivery attached to each incident,
// so that a group of 37 alerts is one timeline event ("37 alerts attached")
// and one summary update, not 37.
type attachments struct {
	order []string
	by    map[string]*attached
}

type attached struct {
	inc   *Incident
	texts []string
}

func (at *attachments) add(inc *Incident, text string) {
	if at.by == nil {
		at.by = map[string]*attached{}
	}
	a, ok := at.by[inc.ID]
	if !ok {
		a = &attached{}
		at.by[inc.ID] = a
		at.order = append(at.order, inc.ID)
	}
	a.inc = inc
	a.texts = append(a.texts, text)
}

// maxAttachedListed bounds the alerts an "attached" event names.
const maxAttachedListed = 10

// record writes one event per incident and, for war rooms, queues the
// summary update.
func (at *attachments) record(tx Tx, now time.Time) error {
	for _, id := range at.order {
		a := at.by[id]
		text := "alert attached: " + a.texts[0]
		if n := len(a.texts); n > 1 {
			listed := a.texts[:min(n, maxAttachedListed)]
			text = fmt.Sprintf("%d alerts attached: %s", n, strings.Join(listed, "; "))
			if n > len(listed) {
				text += fmt.Sprintf("; and %d more", n-len(listed))
			}
		}
		e := &Event{IncidentID: id, At: now, Kind: EventAlertAttached, Actor: ActorAlert, Text: text}
		if err := tx.AppendEvent(e); err != nil {
			return err
		}
		if a.inc.WarRoom {
			if _, err := tx.Enqueue(NewJob(JobSlackUpdate, id, JobArgs{EventID: e.ID}, now)); err != nil {
				return err
			}
		}
	}
	return nil
}

func sameAlert(old, a *Alert) bool {
	return old.Status == a.Status && old.StartsAt.Equal(a.StartsAt) && old.EndsAt.Equal(a.EndsAt) &&
		old.GeneratorURL == a.GeneratorURL && maps.Equal(old.Labels, a.Labels) &&
		maps.Equal(old.Annotations, a.Annotations) && maps.Equal(old.Values, a.Values) &&
		equalValue(old.Value, a.Value)
}

func equalValue(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
