package observe

import (
	"testing"
	"time"
)

func TestAppendISOTime(t *testing.T) {
	for _, ns := range []int64{0, 1795766400123456789, 1795766400000000000, 1795766459999999999} {
		got := string(AppendISOTime(nil, ns))
		want := time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000000Z")
		if got != want {
			t.Errorf("%d: %s, want %s", ns, got, want)
		}
	}
}

func TestAppendMillis(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0.000", 488 * time.Microsecond: "0.488", 1204*time.Microsecond + 999: "1.204",
		12 * time.Second: "12000.000", -time.Millisecond: "0.000", 5 * time.Microsecond: "0.005",
	} {
		if got := string(appendMillis(nil, d)); got != want {
			t.Errorf("%v: %s, want %s", d, got, want)
		}
	}
}
