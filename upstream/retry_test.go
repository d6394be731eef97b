package upstream

import "testing"

func TestRetryBudget(t *testing.T) {
	cases := []struct {
		name     string
		retry    Retry
		requests int   // Selects at t0 (avoid == nil)
		at       int64 // when the retries are asked for
		want     int   // retries granted out of 1000 asked
	}{
		// 20% of 100 requests.
		{"ratio", Retry{Attempts: 2, Budget: 0.2}, 100, t0, 20},
		// The floor: 3/s over the 10s window, with no traffic at all.
		{"floor only", Retry{Attempts: 2, Budget: 0.2, MinPerSecond: 3}, 0, t0, 30},
		// Ratio and floor add up.
		{"ratio and floor", Retry{Attempts: 2, Budget: 0.5, MinPerSecond: 1}, 40, t0, 30},
		// Requests older than the window no longer pay for retries.
		{"window slid", Retry{Attempts: 2, Budget: 0.2}, 100, t0 + 10*sec, 0},
		// Still inside the window 9s later.
		{"inside window", Retry{Attempts: 2, Budget: 0.2}, 100, t0 + 9*sec, 20},
		// One attempt means no retries, whatever the budget.
		{"attempts 1", Retry{Attempts: 1, Budget: 1, MinPerSecond: 100}, 100, t0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := New("x", targets(1, 1), Config{Retry: tc.retry})
			for range tc.requests {
				tg, _ := c.Select(0, nil, t0)
				c.Done(tg, Success, t0)
			}
			got := 0
			for range 1000 {
				if c.AllowRetry(tc.at) {
					got++
					// The retry's own Select (avoid set) is not a new request.
					tg, _ := c.Select(0, c.Targets[0], tc.at)
					c.Done(tg, Success, tc.at)
				}
			}
			if got != tc.want {
				t.Fatalf("granted %d retries, want %d", got, tc.want)
			}
			// A cluster that never retries has no budget to refuse from.
			if allowed, denied := c.RetryStats(); tc.retry.Attempts > 1 && (allowed != uint64(got) || denied != uint64(1000-got)) {
				t.Fatalf("stats %d/%d", allowed, denied)
			}
		})
	}
}

// TestRetryBudgetRefills: spent retries leave the window too, so a steady
// 20% retry rate is sustainable second after second.
func TestRetryBudgetRefills(t *testing.T) {
	c := New("x", targets(1), Config{Retry: Retry{Attempts: 3, Budget: 0.2}})
	for s := range int64(30) {
		now := t0 + s*sec
		for range 10 {
			tg, _ := c.Select(0, nil, now)
			c.Done(tg, Success, now)
		}
		for i := range 2 {
			if !c.AllowRetry(now) {
				t.Fatalf("second %d: retry %d refused at a steady 20%%", s, i)
			}
		}
		if c.AllowRetry(now) {
			t.Fatalf("second %d: a third retry for 10 requests was granted", s)
		}
	}
}

func TestRetryOn(t *testing.T) {
	c := New("x", targets(1), Config{Retry: Retry{Attempts: 2, On: RetryConnectFailure | Retry503}})
	for cause, want := range map[RetryCause]bool{RetryConnectFailure: true, Retry503: true, Retry502: false, RetryTimeout: false} {
		if c.RetryOn(cause) != want {
			t.Errorf("RetryOn(%v) = %v", cause, !want)
		}
	}
	if New("y", targets(1), Config{}).Retry.Attempts != 1 {
		t.Error("zero attempts not raised to 1")
	}
}

// TestCounterRingIgnoresLaggingClocks: a loop whose clock is a whole window
// behind must not wipe a newer second.
func TestCounterRingIgnoresLaggingClocks(t *testing.T) {
	var r counterRing
	now := t0 + 20*sec
	r.add(now)
	r.add(now - int64(RetryWindow)) // same slot, older second
	if got := r.sum(now); got != 1 {
		t.Fatalf("sum %d, want 1", got)
	}
}
