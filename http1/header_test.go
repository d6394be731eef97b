package http1

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestEqualFold(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"Content-Length", "content-length", true},
		{"HOST", "host", true},
		{"hosts", "host", false},
		{"[", "{", false}, // '[' | 0x20 == '{': only letters fold
		{"Tranſfer", "transfer", false},
		{"", "", true},
	}
	for _, c := range cases {
		if got := EqualFold([]byte(c.a), c.b); got != c.want {
			t.Errorf("EqualFold(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

func TestIsHopByHop(t *testing.T) {
	for _, n := range []string{"Connection", "keep-alive", "Proxy-Connection", "Proxy-Authenticate",
		"proxy-authorization", "TE", "Trailer", "Transfer-Encoding", "UPGRADE"} {
		if !IsHopByHop([]byte(n)) {
			t.Errorf("%s should be hop-by-hop", n)
		}
	}
	for _, n := range []string{"Host", "Trailers", "Content-Length", "X-Forwarded-For", "T", ""} {
		if IsHopByHop([]byte(n)) {
			t.Errorf("%s should not be hop-by-hop", n)
		}
	}
}

func TestTokens(t *testing.T) {
	var got []string
	list := []byte(" , keep-alive ,\tUpgrade,, x-foo ,")
	for tok, rest := NextToken(list); tok != nil; tok, rest = NextToken(rest) {
		got = append(got, string(tok))
	}
	if len(got) != 3 || got[0] != "keep-alive" || got[1] != "Upgrade" || got[2] != "x-foo" {
		t.Fatalf("tokens %q", got)
	}
	if !HasToken(list, "upgrade") || HasToken(list, "close") || HasToken(nil, "close") {
		t.Fatal("HasToken")
	}
	if tok, _ := NextToken([]byte(" , ,")); tok != nil {
		t.Fatal("empty list")
	}
}

func TestParseContentLength(t *testing.T) {
	cases := []struct {
		in   string
		n    int64
		isOK bool
	}{
		{"0", 0, true},
		{"42", 42, true},
		{"9223372036854775807", 1<<63 - 1, true},
		{"9223372036854775808", 0, false},
		{"18446744073709551616", 0, false},
		{"", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"0x1", 0, false},
		{"1,1", 0, false},
	}
	for _, c := range cases {
		n, ok := ParseContentLength([]byte(c.in))
		if n != c.n || ok != c.isOK {
			t.Errorf("%q: %d %v", c.in, n, ok)
		}
	}
}

func TestStatusLineAndText(t *testing.T) {
	for _, code := range []int{100, 101, 200, 400, 401, 403, 404, 405, 408, 413, 414, 429, 431, 500, 501, 502, 503, 504, 505} {
		if StatusText(code) == "" {
			t.Errorf("no text for %d", code)
		}
	}
	if s := string(AppendStatusLine(nil, 1, 404)); s != "HTTP/1.1 404 Not Found\r\n" {
		t.Errorf("%q", s)
	}
	if s := string(AppendStatusLine([]byte("x"), 0, 599)); s != "xHTTP/1.0 599 \r\n" {
		t.Errorf("%q", s)
	}
	if StatusOf(nil) != 200 || StatusOf(ErrURITooLong) != 414 || StatusOf(ErrIncomplete) != 400 {
		t.Error("StatusOf")
	}
}

func TestDateCache(t *testing.T) {
	var d DateCache
	t0 := time.Date(1994, 11, 6, 8, 49, 37, 0, time.FixedZone("X", 3600))
	if s := string(d.Get(t0)); s != "Sun, 06 Nov 1994 07:49:37 GMT" {
		t.Fatalf("%q", s)
	}
	if a := testing.AllocsPerRun(100, func() { d.Get(t0.Add(500 * time.Millisecond)) }); a != 0 {
		t.Fatalf("allocs %v", a)
	}
	if s := string(d.Get(t0.Add(time.Second))); s != "Sun, 06 Nov 1994 07:49:38 GMT" {
		t.Fatalf("%q", s)
	}
	// Concurrent use is race-free.
	done := make(chan bool)
	for g := 0; g < 4; g++ {
		go func() {
			for i := 0; i < 200; i++ {
				if len(d.Get(time.Now())) != len(TimeFormat) {
					t.Error("bad length")
				}
			}
			done <- true
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
}

// TestValidValue cross-checks the word-at-a-time value check against the
// byte table for every byte value at every position of a 17-byte value.
func TestValidValue(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 17; pos++ {
			v := []byte("abcdefghijklmnopq")
			v[pos] = byte(c)
			want := class[c]&cValue != 0
			if got := validValue(v); got != want {
				t.Fatalf("byte %#x at %d: got %v", c, pos, got)
			}
		}
	}
}

// TestValidValueRandom compares validValue with the byte table on random
// values drawn from the bytes around the class boundaries.
func TestValidValueRandom(t *testing.T) {
	alphabet := []byte{0x00, 0x01, 0x09, 0x0a, 0x0d, 0x1f, 0x20, 0x21, 'a', 0x7e, 0x7f, 0x80, 0xfe, 0xff}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		v := make([]byte, rng.IntN(25))
		for j := range v {
			// Mostly good bytes, so that long valid runs occur.
			if rng.IntN(8) == 0 {
				v[j] = alphabet[rng.IntN(len(alphabet))]
			} else {
				v[j] = 'x'
			}
		}
		want := true
		for _, c := range v {
			want = want && class[c]&cValue != 0
		}
		if got := validValue(v); got != want {
			t.Fatalf("%q: got %v", v, got)
		}
	}
}

func TestIsFieldName(t *testing.T) {
	for s, want := range map[string]bool{
		"X-API-Key": true, "x_user": true, "!#$%&'*+-.^_`|~09azAZ": true,
		"": false, "X API": false, "X:Y": false, "Ü": false, "X\x00": false,
	} {
		if got := IsFieldName(s); got != want {
			t.Errorf("IsFieldName(%q) = %v", s, got)
		}
		if i := FirstNonToken(s); (i < 0) != (want || s == "") {
			t.Errorf("FirstNonToken(%q) = %d", s, i)
		}
	}
}
