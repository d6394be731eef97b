package apikey

import (
	"fmt"
	"testing"

	"github.com/sluicehq/sluice/filter"
)

// BenchmarkRequest: one request with a valid key among 10000 consumers.
func BenchmarkRequest(b *testing.B) {
	s := &Settings{Header: DefaultHeader}
	for i := range 10000 {
		s.Consumers = append(s.Consumers, Consumer{ID: fmt.Sprintf("c%d", i), KeySHA256: hashOf(fmt.Sprintf("key-%d", i))})
	}
	f, err := New(s)
	if err != nil {
		b.Fatal(err)
	}
	x := exchange("", "X-API-Key: key-4242")
	req := x.Req
	b.ReportAllocs()
	for b.Loop() {
		x.Reset(nil)
		x.Req = req
		if f.Request(x) != filter.Continue {
			b.Fatal(x.Message)
		}
	}
}
