package main

import (
	"runtime"
	"runtime/debug"
)

// version is the release this binary was built as. Release builds set it
// with -ldflags "-X main.version=v1.2.3"; otherwise the module version
// from the build info is used (a `go install …@v1.2.3` build), then the
// VCS revision, then "devel".
var version = ""

// versionLine is what -version prints: "sluice <version> <go version>
// <os>/<arch>", one line, for bug reports and scripts.
func versionLine() string {
	return "sluice " + buildVersion() + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}

func buildVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified == "true" {
		rev += "-dirty"
	}
	return "devel-" + rev
}
