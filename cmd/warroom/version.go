package main

import (
	"runtime/debug"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=…"; without
// it, warroom names itself from the build information.
var version = ""

// versionString is the version warroom reports: the -X version when the
// build set one, else the module version of the build information (a
// tagged version for `go install …@v1.2.0`, "(devel)" for a checkout)
// with its VCS revision, "dirty" for uncommitted changes, and the Go
// version that built it.
func versionString(stamped string, buildInfo func() (*debug.BuildInfo, bool)) string {
	if stamped != "" {
		return stamped
	}
	bi, ok := buildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var details []string
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision" && s.Value != "":
			details = append(details, "revision "+s.Value[:min(12, len(s.Value))])
		case s.Key == "vcs.modified" && s.Value == "true":
			details = append(details, "dirty")
		}
	}
	if bi.GoVersion != "" {
		details = append(details, bi.GoVersion)
	}
	if len(details) == 0 {
		return v
	}
	return v + " (" + strings.Join(details, ", ") + ")"
}

// shortVersion is the version alone, for a banner.
func shortVersion() string {
	v := versionString(version, debug.ReadBuildInfo)
	if i := strings.Index(v, " ("); i > 0 {
		return v[:i]
	}
	return v
}
