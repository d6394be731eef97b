package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// kibOrder is a ~1 KiB JSON document that orderSchemaE2E accepts.
var kibOrder = `{"id":"o-1234567","items":[` + strings.TrimSuffix(strings.Repeat(`{"qty":3,"sku":"SKU-00042-blue-large"},`, 25), ",") + `]}`

var kibPOST = fmt.Sprintf("POST /bench HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(kibOrder), kibOrder)

// BenchmarkProxyValidate is the round trip of a POST with a ~1 KiB JSON body
// checked against a schema by `type: validate` (on the loop: under its
// inline bound). Compare with BenchmarkProxyKiBPOST, the same request on a
// route without it: the difference is the body phase, mostly the schema
// library's validation, which allocates per value it visits.
func BenchmarkProxyValidate(b *testing.B) {
	schema := filepath.Join(b.TempDir(), "order.json")
	if err := os.WriteFile(schema, []byte(orderSchemaE2E), 0o600); err != nil {
		b.Fatal(err)
	}
	mw := fmt.Sprintf("middleware:\n  v: {type: validate, content_types: [application/json], max_body: 64KiB, json_schema: %q}", schema)
	benchmarkRoundTrip(b, plainResponse, plainSuffix, mw, "    middleware: [v]\n", kibPOST)
}

// BenchmarkProxyKiBPOST is BenchmarkProxyValidate's request without the
// validation.
func BenchmarkProxyKiBPOST(b *testing.B) {
	benchmarkRoundTrip(b, plainResponse, plainSuffix, "", "", kibPOST)
}
