package steps_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/incident"
)

// kindExec records the kinds it runs.
type kindExec struct{ ran []incident.JobKind }

func (x *kindExec) Execute(_ context.Context, j incident.Job) error {
	x.ran = append(x.ran, j.Kind)
	return nil
}

var (
	kindA = incident.JobKind("a.one")
	kindB = incident.JobKind("b.one")
	kindC = incident.JobKind("b.two")
)

func TestTableRoutesByKind(t *testing.T) {
	t.Parallel()
	a, b := &kindExec{}, &kindExec{}
	table, err := steps.NewTable([]incident.JobKind{kindA, kindB, kindC},
		steps.Route{Kinds: []incident.JobKind{kindA}, Exec: a},
		steps.Route{Kinds: []incident.JobKind{kindB, kindC}, Exec: b})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []incident.JobKind{kindC, kindA, kindB} {
		if err := table.Execute(context.Background(), incident.Job{Kind: k}); err != nil {
			t.Fatal(err)
		}
	}
	if len(a.ran) != 1 || a.ran[0] != kindA || len(b.ran) != 2 || b.ran[0] != kindC || b.ran[1] != kindB {
		t.Errorf("a ran %v, b ran %v", a.ran, b.ran)
	}
	err = table.Execute(context.Background(), incident.Job{Kind: "z.unknown"})
	if !incident.IsPermanent(err) || !strings.Contains(err.Error(), `"z.unknown"`) {
		t.Errorf("unknown kind: %v; want a permanent error naming it", err)
	}
}

// A table that leaves a kind without an executor, gives one kind two, or
// routes a kind that does not exist is an error when it is built (at
// start), naming the kind.
func TestTableRefusesAnIncompleteOrDoubledTable(t *testing.T) {
	t.Parallel()
	all := []incident.JobKind{kindA, kindB, kindC}
	x := &kindExec{}
	for _, tc := range []struct {
		name   string
		routes []steps.Route
		want   string
	}{
		{"missing", []steps.Route{{Kinds: []incident.JobKind{kindA, kindB}, Exec: x}}, "b.two has no executor"},
		{"doubled", []steps.Route{{Kinds: []incident.JobKind{kindA, kindB}, Exec: x}, {Kinds: []incident.JobKind{kindB, kindC}, Exec: x}}, "b.one has two executors"},
		{"unknown", []steps.Route{{Kinds: []incident.JobKind{kindA, kindB, kindC, "c.three"}, Exec: x}}, "c.three is not a kind of step"},
		{"no executor", []steps.Route{{Kinds: []incident.JobKind{kindA, kindB}, Exec: x}, {Kinds: []incident.JobKind{kindC}}}, "b.two has no executor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			table, err := steps.NewTable(all, tc.routes...)
			if err == nil || table != nil {
				t.Fatalf("NewTable: %v, %v; want an error", table, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewTable: %v; want %q", err, tc.want)
			}
		})
	}
	if _, err := steps.NewTable(all, steps.Route{Kinds: all, Exec: x}); err != nil {
		t.Errorf("a complete table: %v", err)
	}
	var joined interface{ Unwrap() []error }
	_, err := steps.NewTable(all)
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 3 {
		t.Errorf("an empty table: %v; want one error per kind", err)
	}
}
