package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/warroom/warroom/incident"
)

// Route gives the steps of Kinds to Exec.
type Route struct {
	Kinds []incident.JobKind
	Exec  incident.Executor
}

// Table chooses the executor of a step by its kind. It is the one place
// that says who runs what: no executor hands a step it does not know on
// to another.
type Table struct {
	by map[incident.JobKind]incident.Executor
}

var _ incident.Executor = (*Table)(nil)

// NewTable builds the table of routes and checks it: every kind of all
// must have exactly one executor, and no route may name a kind that is
// not in all. The composition root calls it at start, so that a step
// nobody runs (or two executors that both think it theirs) stops the bot
// before it takes an alert, rather than failing a war room later.
func NewTable(all []incident.JobKind, routes ...Route) (*Table, error) {
	t := &Table{by: make(map[incident.JobKind]incident.Executor, len(all))}
	var errs []error
	for i, r := range routes {
		if r.Exec == nil {
			errs = append(errs, fmt.Errorf("steps: route %d (%s) has no executor", i, kindList(r.Kinds)))
			continue
		}
		for _, k := range r.Kinds {
			switch {
			case !slices.Contains(all, k):
				errs = append(errs, fmt.Errorf("steps: %s is not a kind of step", k))
			case t.by[k] != nil:
				errs = append(errs, fmt.Errorf("steps: %s has two executors", k))
			default:
				t.by[k] = r.Exec
			}
		}
	}
	for _, k := range all {
		if t.by[k] == nil {
			errs = append(errs, fmt.Errorf("steps: %s has no executor", k))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// Execute implements incident.Executor: it runs j with the executor of its
// kind. A kind the table does not know (a job left by a newer version,
// say) fails for good.
func (t *Table) Execute(ctx context.Context, j incident.Job) error {
	x, ok := t.by[j.Kind]
	if !ok {
		return incident.Permanent(fmt.Errorf("no executor runs steps of kind %q", j.Kind))
	}
	return x.Execute(ctx, j)
}

func kindList(ks []incident.JobKind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}
