// Package builtin links every middleware type that ships with Sluice: each
// registers itself from init, so importing this package (the pipeline does)
// makes them all valid `type:` values in a config.
package builtin

import (
	_ "github.com/sluicehq/sluice/filter/auditlog"  // type: audit_log
	_ "github.com/sluicehq/sluice/filter/ratelimit" // type: rate_limit
)
