package config

import (
	"strconv"
	"time"
)

// Redis is the top-level `redis:` block: the store that rate limits with
// `scope: cluster` share across gateway instances. Its password is never
// in the file: PasswordEnv names the environment variable that holds it.
type Redis struct {
	// Addresses (yaml `addresses`) are host:port pairs: the server, the
	// Sentinels when SentinelMaster is set, or seed nodes of a Redis
	// Cluster when Cluster is true. Required, at least one.
	Addresses []string `yaml:"addresses"`
	// SentinelMaster (yaml `sentinel_master`) is the master name to ask the
	// Sentinels at Addresses for. Default "": no Sentinel.
	SentinelMaster string `yaml:"sentinel_master"`
	// Cluster (yaml `cluster`) treats Addresses as Redis Cluster nodes.
	// Default false.
	Cluster bool `yaml:"cluster"`
	// Username (yaml `username`) is the ACL user. Default "" (the default
	// user).
	Username string `yaml:"username"`
	// PasswordEnv (yaml `password_env`) names the environment variable
	// holding the password. Default "": no password.
	PasswordEnv string `yaml:"password_env"`
	// Password exists only to refuse a password written in the file.
	Password string `yaml:"password"`
	// SyncInterval (yaml `sync_interval`) is how often each instance pushes
	// its consumption and pulls the cluster's. Default 50ms; 5ms..10s.
	SyncInterval Duration `yaml:"sync_interval"`
	// Timeout (yaml `timeout`) bounds one synchronisation round; a round
	// that fails or takes longer puts the limits in their on_failure mode
	// until one succeeds. Default 1s.
	Timeout Duration `yaml:"timeout"`
	// OnFailure (yaml `on_failure`): "open" (default) keeps admitting on
	// each instance's share of the limit while Redis is unreachable;
	// "closed" answers 503 on routes with a cluster limit instead.
	OnFailure string `yaml:"on_failure"`
	// Instances (yaml `instances`) is how many gateway instances to assume
	// before the first contact with Redis (each then enforces 1/Instances
	// of a limit if Redis is down from the start). Default 1. Once Redis
	// answers, the instances count themselves.
	Instances int `yaml:"instances"`
	// KeyPrefix (yaml `key_prefix`) starts every Redis key Sluice writes.
	// Default "sluice:".
	KeyPrefix string `yaml:"key_prefix"`
}

// Bounds and defaults of the redis block.
const (
	DefaultRedisSyncInterval = 50 * time.Millisecond
	DefaultRedisTimeout      = time.Second
	minRedisSyncInterval     = 5 * time.Millisecond
	maxRedisSyncInterval     = 10 * time.Second
)

// redis checks and completes the redis block, if any.
func (k *checker) redis() {
	r := k.c.Redis
	if r == nil {
		return
	}
	if len(r.Addresses) == 0 {
		k.errf("redis.addresses", "required: at least one host:port, e.g. [\"127.0.0.1:6379\"]")
	}
	for i, a := range r.Addresses {
		if err := checkHostPort(a, false); err != nil {
			k.errf("redis.addresses["+strconv.Itoa(i)+"]", "%v", err)
		}
	}
	if r.Cluster && r.SentinelMaster != "" {
		k.errf("redis.cluster", "cluster and sentinel_master exclude each other: a Redis Cluster has no Sentinel master")
	}
	if r.Password != "" {
		k.errf("redis.password", "a password is never written in the config file; put it in an environment variable and name it in password_env")
	}
	if r.PasswordEnv != "" && !validEnvName(r.PasswordEnv) {
		k.errf("redis.password_env", "%q is not an environment variable name (letters, digits and '_', not starting with a digit)", r.PasswordEnv)
	}
	if r.SyncInterval == 0 {
		r.SyncInterval = Duration(DefaultRedisSyncInterval)
	} else if d := r.SyncInterval.D(); d < minRedisSyncInterval || d > maxRedisSyncInterval {
		k.errf("redis.sync_interval", "must be between %s and %s, got %s", minRedisSyncInterval, maxRedisSyncInterval, d)
	}
	if r.Timeout == 0 {
		r.Timeout = Duration(DefaultRedisTimeout)
	} else if r.Timeout < 0 {
		k.errf("redis.timeout", "must be > 0, got %s", r.Timeout)
	}
	switch r.OnFailure {
	case "":
		r.OnFailure = "open"
	case "open", "closed":
	default:
		k.errf("redis.on_failure", "unknown mode %q; want open or closed", r.OnFailure)
	}
	if r.Instances == 0 {
		r.Instances = 1
	} else if r.Instances < 0 || r.Instances > 1000 {
		k.errf("redis.instances", "must be between 1 and 1000, got %d", r.Instances)
	}
	if r.KeyPrefix == "" {
		r.KeyPrefix = "sluice:"
	}
}
