package observe

import (
	"testing"
	"time"
)

func TestAppendISOTime(t *testing.T) {
	for _, ns := range []int64{0, 1795766400123456789, 1795766400000000000, 1795766459999999999} {
		got := string(appendISOTime(nil, ns))
		want := time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000000Z")
		if got != want {
			t.Errorf("%d: %s, want %s", ns, got, want)
		}
	}
}
