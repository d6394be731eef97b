package pipeline

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicehq/sluice/config"
)

// TestExampleConfigs keeps the shipped examples loadable: they parse with
// every middleware type linked in, and those that need no outside files
// compile into a snapshot. (It lives here rather than in config because
// middleware types register from the filter packages, which config cannot
// import.)
func TestExampleConfigs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build bool // bench-auth.yaml needs the keys bench/run.sh generates
	}{{"quickstart.yaml", true}, {"reference.yaml", true}, {"bench.yaml", true}, {"bench-auth.yaml", false}} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Load(filepath.Join("..", "configs", tc.name))
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Routes) == 0 || len(c.Clusters) == 0 {
				t.Errorf("no routes or clusters")
			}
			if !tc.build {
				return
			}
			s, err := Build(c)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
		})
	}
	c, err := config.Load("../configs/quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || c.Admin != "127.0.0.1:9901" || len(c.DemoUpstreams) != 2 {
		t.Errorf("quickstart: %+v", c)
	}
	c, err = config.Load("../configs/bench.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:18084" || c.Admin != "" || c.Clusters["up"].Pool.MaxIdlePerTarget != 256 || c.Timeouts.ClientIdle.D() != 300*time.Second {
		t.Errorf("bench: %+v", c)
	}
}
