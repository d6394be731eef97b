package ratelimit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"

	"github.com/sluicehq/sluice/ratesync"
)

// joinCluster makes f a cluster-scoped limit named name: keys every
// instance computes alike, and a syncer that keeps the buckets in step
// through Redis.
//
// A local limit seeds its key hashes at random, so nobody can pick a
// client address whose bucket is someone else's. Instances sharing a limit
// must agree on the seeds, so here they are derived from the Redis
// password (HMAC keyed with it, over the key prefix and the instance
// name): as unpredictable as that password. Without a password the seeds
// follow from the config alone, and a client who has read it could aim an
// IPv6 address of its own at another client's bucket; set one.
func (f *Filter) joinCluster(name string, s *Settings) error {
	r := *s.Redis
	var password string
	if r.PasswordEnv != "" {
		var ok bool
		if password, ok = os.LookupEnv(r.PasswordEnv); !ok || password == "" {
			return fmt.Errorf("rate_limit %s: redis.password_env: environment variable %s is not set or empty", name, r.PasswordEnv)
		}
	}
	mac := hmac.New(sha256.New, []byte(password))
	for i := range f.seeds {
		mac.Reset()
		fmt.Fprintf(mac, "%s\x00%s\x00%d", r.KeyPrefix, name, i)
		f.seeds[i] = binary.LittleEndian.Uint64(mac.Sum(nil))
	}
	sync, err := ratesync.New(ratesync.Options{
		Name:     name,
		Redis:    r,
		Password: password,
		Limiter:  f.lim,
		Limit:    s.limiterConfig(),
	})
	if err != nil {
		return fmt.Errorf("rate_limit %s: %w", name, err)
	}
	f.sync = sync
	return nil
}
