// Package redisclient compares the two Redis clients ratesync could use,
// on what it does: one pipelined round of EVALSHA of its script over K
// keys. Its own module, so rueidis stays out of the gateway's go.mod.
// Needs redis-server on PATH:
//
//	cd bench/redisclient && go test -bench . -run XXX
package redisclient

import (
	"context"
	"os/exec"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
)

const script = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local n = tonumber(ARGV[1])
if n > 0 then
  tat = tat + n * tonumber(ARGV[2])
  redis.call('SET', KEYS[1], string.format('%.17g', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
end
return math.floor(tat - now)
`

const addr = "127.0.0.1:16421"

func TestMain(m *testing.M) {
	cmd := exec.Command("redis-server", "--port", "16421", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	for deadline := time.Now().Add(10 * time.Second); c.Ping(context.Background()).Err() != nil; {
		if time.Now().After(deadline) {
			panic("redis-server did not answer")
		}
		<-time.After(10 * time.Millisecond)
	}
	c.Close()
	m.Run()
	cmd.Process.Kill()
	cmd.Wait()
}

func keys(k int) []string {
	ks := make([]string, k)
	for i := range ks {
		ks[i] = "bench:rl:" + strconv.Itoa(i)
	}
	return ks
}

func BenchmarkGoRedis(b *testing.B) {
	for _, k := range []int{1, 100, 1000} {
		b.Run(strconv.Itoa(k), func(b *testing.B) {
			c := goredis.NewClient(&goredis.Options{Addr: addr})
			defer c.Close()
			s := goredis.NewScript(script)
			ctx := context.Background()
			s.Load(ctx, c)
			ks := keys(k)
			b.ReportAllocs()
			for b.Loop() {
				p := c.Pipeline()
				cmds := make([]*goredis.Cmd, k)
				for i, key := range ks {
					cmds[i] = s.EvalSha(ctx, p, []string{key}, "3", "10000")
				}
				if _, err := p.Exec(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRueidis(b *testing.B) {
	for _, k := range []int{1, 100, 1000} {
		b.Run(strconv.Itoa(k), func(b *testing.B) {
			c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			s := rueidis.NewLuaScript(script)
			ctx := context.Background()
			ks := keys(k)
			// warm: load the script
			s.Exec(ctx, c, ks[:1], []string{"0", "10000"})
			b.ReportAllocs()
			for b.Loop() {
				ms := make([]rueidis.LuaExec, k)
				for i, key := range ks {
					ms[i] = rueidis.LuaExec{Keys: []string{key}, Args: []string{"3", "10000"}}
				}
				for _, r := range s.ExecMulti(ctx, c, ms...) {
					if r.Error() != nil {
						b.Fatal(r.Error())
					}
				}
			}
		})
	}
}
