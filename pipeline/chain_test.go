package pipeline

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/config"
)

const chainConfig = `
clusters:
  a: {targets: ["http://127.0.0.1:9001"]}
middleware:
  auth: {type: jwt, algorithms: [HS256], secret_env: PIPELINE_TEST_SECRET}
  admins: {type: require, claims: {role: admin}}
  per_ip: {type: rate_limit, rate: 10}
routes:
%s
`

// TestChainsShareInstances: routes naming the same instance get the same
// filter (one rate limiter's buckets, one token cache), in the listed order.
func TestChainsShareInstances(t *testing.T) {
	t.Setenv("PIPELINE_TEST_SECRET", strings.Repeat("k", 32))
	cfg, err := config.Parse("t.yaml", []byte(strings.Replace(chainConfig, "%s", `
  - {name: a, match: {path: /a/*}, cluster: a, middleware: [auth, admins, per_ip]}
  - {name: b, match: {path: /b/*}, cluster: a, middleware: [per_ip]}
  - {name: c, match: {path: /c/*}, cluster: a}`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Routes[0].Chain.Len() != 3 || s.Routes[1].Chain.Len() != 1 || s.Routes[2].Chain != nil {
		t.Fatalf("chain lengths: %d %d %v", s.Routes[0].Chain.Len(), s.Routes[1].Chain.Len(), s.Routes[2].Chain)
	}
}

// TestRequireNeedsAuthBeforeIt: a require that no jwt precedes could only
// ever answer 401; the config is refused instead, naming the route.
func TestRequireNeedsAuthBeforeIt(t *testing.T) {
	t.Setenv("PIPELINE_TEST_SECRET", strings.Repeat("k", 32))
	for _, mw := range []string{"[admins]", "[admins, auth]", "[per_ip, admins]"} {
		cfg, err := config.Parse("t.yaml", []byte(strings.Replace(chainConfig, "%s",
			"  - {name: x, match: {path: /*}, cluster: a, middleware: "+mw+"}", 1)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Build(cfg)
		if err == nil || !strings.Contains(err.Error(), `t.yaml:`) || !strings.Contains(err.Error(), `"admins" checks claims`) {
			t.Errorf("%s: got %v", mw, err)
		}
	}
}
