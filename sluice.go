// Package sluice is the root of the Sluice API gateway. It only carries the
// files that ship inside the binary; the gateway itself lives in cmd/sluice.
package sluice

import _ "embed"

// Quickstart is configs/quickstart.yaml, the config the binary runs when it
// is started without -config.
//
//go:embed configs/quickstart.yaml
var Quickstart []byte
