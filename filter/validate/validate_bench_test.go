package validate

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/filter"
)

// benchOrder is a ~1 KiB order document that orderSchema accepts.
var benchOrder = func() []byte {
	var items []string
	for i := range 24 {
		items = append(items, fmt.Sprintf(`{"sku":"SKU-%05d-blue-large","qty":%d}`, i, i+1))
	}
	return []byte(`{"id":"o-1234567","kind":"retail","items":[` + strings.Join(items, ",") + `]}`)
}()

// BenchmarkValidateBody is the body phase of one request: the strict JSON
// decoding of a ~1 KiB document and its validation against orderSchema.
// Both allocate: the decoded document (maps, slices, strings, numbers) and
// the schema library's bookkeeping while it validates.
func BenchmarkValidateBody(b *testing.B) {
	f := mustBuild(b, "{type: validate, json_schema: schemas/order.json}")
	x := &filter.Exchange{}
	b.SetBytes(int64(len(benchOrder)))
	b.ReportAllocs()
	for b.Loop() {
		if f.RequestBody(x, benchOrder) != filter.Continue {
			b.Fatal("refused")
		}
	}
}

// BenchmarkDecodeJSON is the decoding alone, for the share it takes.
func BenchmarkDecodeJSON(b *testing.B) {
	b.SetBytes(int64(len(benchOrder)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeJSON(benchOrder); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStdDecodeJSON is encoding/json with UseNumber (what the schema
// library's own loader uses) on the same document, for comparison.
func BenchmarkStdDecodeJSON(b *testing.B) {
	b.SetBytes(int64(len(benchOrder)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := stdDecode(benchOrder); err != nil {
			b.Fatal(err)
		}
	}
}
