// Package builtin links every middleware type that ships with Sluice: each
// registers itself from init, so importing this package (cmd/sluice does)
// makes them all valid `type:` values in a config.
package builtin

import (
	_ "github.com/sluicehq/sluice/filter/apikey"      // type: api_key
	_ "github.com/sluicehq/sluice/filter/auditlog"    // type: audit_log
	_ "github.com/sluicehq/sluice/filter/compress"    // type: compress
	_ "github.com/sluicehq/sluice/filter/cors"        // type: cors
	_ "github.com/sluicehq/sluice/filter/jwt"         // type: jwt
	_ "github.com/sluicehq/sluice/filter/ratelimit"   // type: rate_limit
	_ "github.com/sluicehq/sluice/filter/require"     // type: require
	_ "github.com/sluicehq/sluice/filter/respheaders" // type: response_headers
	_ "github.com/sluicehq/sluice/filter/transform"   // type: transform
	_ "github.com/sluicehq/sluice/filter/validate"    // type: validate
)
