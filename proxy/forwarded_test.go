package proxy

import (
	"net/netip"
	"testing"

	"github.com/sluicehq/sluice/http1"
)

func TestClientIPBehindTrustedProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.1/32")}
	cases := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"untrusted peer: its XFF is ignored", "203.0.113.9", []string{"1.2.3.4"}, "203.0.113.9"},
		{"trusted peer: right-most entry", "10.1.1.1", []string{"1.2.3.4, 5.6.7.8"}, "5.6.7.8"},
		{"trusted hops are skipped", "10.1.1.1", []string{"1.2.3.4, 192.168.1.1, 10.9.9.9"}, "1.2.3.4"},
		{"several XFF lines read as one list", "10.1.1.1", []string{"6.6.6.6", "7.7.7.7 , 10.2.2.2"}, "7.7.7.7"},
		{"garbage stops the walk", "10.1.1.1", []string{"1.2.3.4, nonsense"}, "10.1.1.1"},
		{"no XFF", "10.1.1.1", nil, "10.1.1.1"},
		{"all trusted", "10.1.1.1", []string{"10.3.3.3"}, "10.1.1.1"},
		{"IPv6 entries", "10.1.1.1", []string{"2001:db8::1"}, "2001:db8::1"},
	}
	for _, tc := range cases {
		raw := "GET / HTTP/1.1\r\nHost: x\r\n"
		for _, v := range tc.xff {
			raw += "X-Forwarded-For: " + v + "\r\n"
		}
		raw += "\r\n"
		var req http1.Request
		if _, err := http1.ParseRequest([]byte(raw), &req, &http1.Limits{}); err != nil {
			t.Fatal(err)
		}
		cl := &client{addr: netip.MustParseAddr(tc.peer)}
		if got := cl.clientIP(trusted, &req); got.String() != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestForwardedElementQuoting: RFC 7239 §6 brackets and quotes an IPv6
// node; a host that is not a token is a quoted-string.
func TestForwardedElementQuoting(t *testing.T) {
	cases := []struct {
		peer, host, want string
	}{
		{"192.0.2.1", "example.com", "for=192.0.2.1;proto=http;host=example.com"},
		{"2001:db8::1", "example.com", `for="[2001:db8::1]";proto=http;host=example.com`},
		{"192.0.2.1", "[2001:db8::2]:8080", `for=192.0.2.1;proto=http;host="[2001:db8::2]:8080"`},
		{"192.0.2.1", `a"b\c`, `for=192.0.2.1;proto=http;host="a\"b\\c"`},
		{"192.0.2.1", "", "for=192.0.2.1;proto=http"},
		{"", "h", "for=unknown;proto=http;host=h"},
	}
	for _, tc := range cases {
		var peer netip.Addr
		if tc.peer != "" {
			peer = netip.MustParseAddr(tc.peer)
		}
		if got := string(appendForwardedElement(nil, peer, []byte(tc.host))); got != tc.want {
			t.Errorf("%s %q: got %s, want %s", tc.peer, tc.host, got, tc.want)
		}
	}
}
