package limiter

// Raise puts key's bucket at least debt nanoseconds in arrears at now:
// its TAT moves to now+debt unless it is already later, so the bucket
// holds no more tokens than a peer's view says are left. Consumption seen
// elsewhere (another gateway instance, reported through a shared store)
// is applied this way. A key the table does not hold gets a slot, evicting
// as a new key would. debt may exceed the bucket's window (the cluster
// went over): the bucket then admits nothing until the excess has been
// paid back; it is capped well inside the range the state can represent.
// Raise never blocks and never allocates. Any goroutine.
func (l *Limiter) Raise(key uint64, now, debt int64) {
	if debt <= 0 {
		return
	}
	debt = min(debt, l.window+maxSkew/2)
	st, key := l.set(key)
	for try := 0; !l.raise(st, key, now, debt, try >= spins); try++ {
	}
}

// raise makes one pass at Raise; false means look again.
func (l *Limiter) raise(st *set, key uint64, now, debt int64, stubborn bool) bool {
	for i := range ways {
		if st.keys[i].Load() != key {
			continue
		}
		s := st.states[i].Load()
		if s&lockBit != 0 {
			if stubborn {
				continue
			}
			return false
		}
		if st.keys[i].Load() != key {
			return false // handed over between the two loads
		}
		if l.debt(s, now) >= debt {
			return true
		}
		return st.states[i].CompareAndSwap(s, pack(hdrOf(s)|backBit, now+debt))
	}
	victim, vs := l.victim(st, now)
	if victim < 0 {
		return stubborn // every slot stalled mid-hand-over: give up
	}
	return l.claim(st, victim, vs, key, pack(backBit, now+debt))
}
