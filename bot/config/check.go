package config

import (
	"errors"
	"os"
	"strconv"
)

// Level says whether a Diagnostic stops the config from being used.
type Level string

// The levels of a Diagnostic.
const (
	LevelError   Level = "error"
	LevelWarning Level = "warning"
)

// Diagnostic is one finding of Check, at its file and line (0 when the
// finding is about the whole file).
type Diagnostic struct {
	Level   Level
	File    string
	Line    int
	Message string
}

// String renders "file:line: message", as compilers and editors do.
func (d Diagnostic) String() string {
	if d.Line > 0 {
		return d.File + ":" + strconv.Itoa(d.Line) + ": " + d.Message
	}
	return d.File + ": " + d.Message
}

// Check loads the config file at path as Load does, for check-config: it
// returns the config (nil when it has errors) and every finding, each at
// its file and line where the file has one. Errors are what Load refuses:
// syntax, unknown keys, bad values, rules that do not compile. Warnings are
// what this machine lacks (see Problem), and a rule list that leaves some
// alerts to no rule (those are ignored).
func Check(path string) (*Config, []Diagnostic) {
	return check(path, os.LookupEnv, os.ReadFile)
}

func check(path string, lookupEnv func(string) (string, bool), readSecret func(string) ([]byte, error)) (*Config, []Diagnostic) {
	c, problems, err := loadConfig(path, lookupEnv, readSecret)
	if err != nil {
		var ds []Diagnostic
		for _, e := range splitJoined(err) {
			d := Diagnostic{Level: LevelError, File: path, Message: e.Error()}
			var pe *posError
			if errors.As(e, &pe) {
				d.File, d.Line, d.Message = pe.file, pe.line, pe.err.Error()
			}
			ds = append(ds, d)
		}
		return nil, ds
	}
	var ds []Diagnostic
	for _, p := range problems {
		ds = append(ds, Diagnostic{Level: LevelWarning, File: path, Line: c.keyLine(p.Key), Message: p.String()})
	}
	set, err := c.RuleSet()
	if err != nil { // Load compiled them: a bug, not the config's
		return nil, append(ds, Diagnostic{Level: LevelError, File: path, Message: err.Error()})
	}
	if !set.CatchesAll() {
		file := c.src.file
		if c.src.rulesFile != "" {
			file = c.src.rulesFile
		}
		ds = append(ds, Diagnostic{Level: LevelWarning, File: file, Line: c.src.rulesLine,
			Message: "rules: no rule matches every alert, so an alert that none matches is ignored " +
				"(end the list with one that does, e.g. {name: everything-else, match: '{}', decision: record})"})
	}
	return c, ds
}
