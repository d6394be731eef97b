package config

import (
	"strings"
	"testing"
)

func TestObserveKeys(t *testing.T) {
	base := "clusters: {a: {targets: [\"http://127.0.0.1:9\"]}}\nroutes: [{name: r, match: {path: /}, cluster: a}]\n"
	c, err := Parse("t.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if a := c.AccessLog; !a.Enabled || a.Path != "-" || a.Format != "json" || a.Sample != 1 || c.RequestID != "trust" {
		t.Errorf("defaults: %+v %q", a, c.RequestID)
	}
	c, err = Parse("t.yaml", []byte(base+"access_log: {path: access.log, format: clf, sample: 0.25}\nrequest_id: regenerate\ntrusted_proxies: [10.0.0.0/8, 192.168.1.1]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a := c.AccessLog; a.Path != "access.log" || a.Format != "clf" || a.Sample != 0.25 || c.RequestID != "regenerate" || len(c.TrustedProxies) != 2 {
		t.Errorf("set: %+v %q %v", a, c.RequestID, c.TrustedProxies)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"access_log: {format: xml}", `t.yaml:3:22: access_log.format: unknown format "xml"`},
		{"access_log: {sample: 2}", `t.yaml:3:22: access_log.sample: 2 is not a share`},
		{"access_log: {path: \"\"}", `access_log.path: required`},
		{"request_id: maybe", `t.yaml:3:13: request_id: unknown mode "maybe"`},
		{"trusted_proxies: [10.0.0.0/33]", `trusted_proxies[0]: "10.0.0.0/33" is not an IP address or CIDR`},
	} {
		_, err := Parse("t.yaml", []byte(base+tc.yaml+"\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
