package incident

import (
	"fmt"
	"sync"
	"time"
)

// withheldMemo is the Service's memory of withheld war rooms. It only
// spares work: forgetting (another replica, a restart) means one more
// count.
type withheldMemo struct {
	mu sync.Mutex
	m  map[string]withheldAt
}

type withheldAt struct {
	at  time.Time
	why string
}

// recheckWithheld is how long an incident whose war room was withheld
// stays recorded before an alert of it counts the war rooms again.
const recheckWithheld = 10 * time.Second

// maxWithheldMemo bounds the memory; past it, it starts again.
const maxWithheldMemo = 10000

func (w *withheldMemo) recent(id string, now time.Time) (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.m[id]
	if !ok || now.Sub(e.at) >= recheckWithheld || now.Before(e.at) {
		return "", false
	}
	return e.why, true
}

func (w *withheldMemo) note(id, why string, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil || len(w.m) >= maxWithheldMemo {
		w.m = map[string]withheldAt{}
	}
	w.m[id] = withheldAt{now, why}
}

// warRoomBudget counts the war rooms one run of a delivery's transaction
// opened, and remembers those it withheld and why.
type warRoomBudget struct {
	opened   int
	withheld map[string]string
	// storm is the open storm this run found or declared.
	storm *Incident
}

func (b *warRoomBudget) withhold(id, why string) {
	if b.withheld == nil {
		b.withheld = map[string]string{}
	}
	b.withheld[id] = why
}

// withhold says why no new war room may open now ("" when one may) and,
// when one may, counts it in budget. The per-minute count comes from the
// store, which holds it locked until commit, so that two replicas cannot
// both take the last place.
func (s *Service) withhold(tx Tx, budget *warRoomBudget, now time.Time) (string, error) {
	if limit := s.opts.MaxNewWarRoomsPerDelivery; limit >= 0 && budget.opened >= limit {
		rooms := "war rooms"
		if budget.opened == 1 {
			rooms = "war room"
		}
		return fmt.Sprintf("war room withheld: this delivery opened %d %s, the limit is %d per delivery", budget.opened, rooms, limit), nil
	}
	if limit := s.opts.MaxNewWarRoomsPerMinute; limit >= 0 {
		n, err := tx.WarRoomsSince(now.Add(-time.Minute))
		if err != nil {
			return "", err
		}
		if n >= limit {
			return fmt.Sprintf("war room withheld: %d war rooms opened in the last minute, the limit is %d", n, limit), nil
		}
	}
	budget.opened++
	return "", nil
}
