package apikey

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/http1"
)

func hashOf(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// buildText decodes and builds instance a from config text in dir.
func buildText(t testing.TB, dir, inst string) (*Filter, error) {
	t.Helper()
	c, err := config.Parse(filepath.Join(dir, "sluice.yaml"), []byte("middleware:\n  a: "+inst+"\n"))
	if err != nil {
		return nil, err
	}
	f, err := filter.Build(c.Middleware["a"])
	if err != nil {
		return nil, err
	}
	return f.(*Filter), nil
}

func exchange(query string, headers ...string) *filter.Exchange {
	x := &filter.Exchange{}
	x.Reset(nil)
	req := &http1.Request{}
	if query != "" {
		req.Query = []byte(query)
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		req.Headers = append(req.Headers, http1.Header{Name: []byte(name), Value: []byte(value)})
	}
	x.Req = req
	return x
}

func TestAPIKey(t *testing.T) {
	dir := t.TempDir()
	file := "# consumers\n\npartner-a " + hashOf("key-from-file") + "\n  partner-b   " + strings.ToUpper(hashOf("key with spaces/+")) + "  \n"
	if err := os.WriteFile(filepath.Join(dir, "consumers.txt"), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := buildText(t, dir, `{type: api_key, query: api_key, consumers_file: consumers.txt, consumers: [{id: mobile-app, key_sha256: `+hashOf("s3cret-mobile")+`}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if f.Consumers() != 3 {
		t.Fatalf("%d consumers", f.Consumers())
	}
	cases := []struct {
		name     string
		query    string
		headers  []string
		consumer string // "" = rejected
		msg      string
	}{
		{"inline consumer", "", []string{"X-API-Key: s3cret-mobile"}, "mobile-app", ""},
		{"header name case-insensitive", "", []string{"x-api-key: s3cret-mobile"}, "mobile-app", ""},
		{"file consumer", "", []string{"X-API-Key: key-from-file"}, "partner-a", ""},
		{"query, percent-encoded", "x=1&api_key=key%20with%20spaces%2F%2B", nil, "partner-b", ""},
		{"query, raw + is not a space", "api_key=key+with+spaces/+", nil, "", "Invalid API key"},
		{"header wins over query", "api_key=key-from-file", []string{"X-API-Key: s3cret-mobile"}, "mobile-app", ""},
		{"no key", "", nil, "", "Authentication required"},
		{"empty header", "", []string{"X-API-Key: "}, "", "Authentication required"},
		{"wrong key", "", []string{"X-API-Key: s3cret-mobilE"}, "", "Invalid API key"},
		{"hash given as key", "", []string{"X-API-Key: " + hashOf("s3cret-mobile")}, "", "Invalid API key"},
		{"two key headers", "", []string{"X-API-Key: s3cret-mobile", "X-API-Key: key-from-file"}, "", "Invalid API key"},
		{"bad escape in query", "api_key=%zz", nil, "", "Invalid API key"},
		{"over-long query key", "api_key=" + strings.Repeat("a", maxKey+1), nil, "", "Invalid API key"},
		{"Authorization is not the key header", "", []string{"Authorization: Bearer s3cret-mobile"}, "", "Authentication required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := exchange(tc.query, tc.headers...)
			v := f.Request(x)
			if tc.consumer == "" {
				if v != filter.Respond || x.Status != 401 || x.Message != tc.msg || len(x.UpstreamHeaders()) != 0 || x.Consumer != nil {
					t.Errorf("verdict %v status %d msg %q consumer %q", v, x.Status, x.Message, x.Consumer)
				}
				return
			}
			if v != filter.Continue || string(x.Consumer) != tc.consumer ||
				string(x.UpstreamHeaders()) != "X-Consumer-ID: "+tc.consumer+"\r\n" || !x.Stripped([]byte("x-api-key")) {
				t.Errorf("verdict %v consumer %q upstream %q", v, x.Consumer, x.UpstreamHeaders())
			}
		})
	}
}

func TestCustomHeader(t *testing.T) {
	f, err := buildText(t, t.TempDir(), `{type: api_key, header: X-Partner-Token, consumers: [{id: p, key_sha256: `+hashOf("k")+`}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if x := exchange("", "X-API-Key: k"); f.Request(x) != filter.Respond || x.Message != "Authentication required" {
		t.Errorf("default header still read: %q", x.Message)
	}
	if x := exchange("api_key=k"); f.Request(x) != filter.Respond {
		t.Error("query read without `query`")
	}
	x := exchange("", "X-Partner-Token: k")
	if f.Request(x) != filter.Continue || !x.Stripped([]byte("X-Partner-Token")) {
		t.Error("custom header not used or not stripped")
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	good := hashOf("k")
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("three-fields.txt", "a "+good+" extra\n")
	write("dup.txt", "# x\nb "+good+"\n")
	write("empty.txt", "# nobody yet\n")
	cases := []struct {
		name, inst, want string
	}{
		{"no consumers", "{type: api_key}", "middleware.a: no consumers"},
		{"bad hash", "{type: api_key, consumers: [{id: a, key_sha256: abc}]}", `middleware.a.consumers: consumers[0]: consumer "a": key_sha256 must be 64 hex digits`},
		{"plain key given", "{type: api_key, consumers: [{id: a, key: hunter2}]}", `unknown field "key"`},
		{"bad id", "{type: api_key, consumers: [{id: 'a b', key_sha256: " + good + "}]}", `id "a b"`},
		{"duplicate id", "{type: api_key, consumers: [{id: a, key_sha256: " + good + "}, {id: a, key_sha256: " + hashOf("j") + "}]}", `consumer "a" is listed twice`},
		{"duplicate key", "{type: api_key, consumers: [{id: a, key_sha256: " + good + "}, {id: b, key_sha256: " + strings.ToUpper(good) + "}]}", `consumer "b" has the same key as consumer "a"`},
		{"bad header", "{type: api_key, header: 'X API', consumers: [{id: a, key_sha256: " + good + "}]}", `header: "X API" is not a valid header name`},
		{"bad query", "{type: api_key, query: 'a=b', consumers: [{id: a, key_sha256: " + good + "}]}", `query: "a=b" is not a usable parameter name`},
		{"file missing", "{type: api_key, consumers_file: nope.txt}", "consumers_file: open " + dir + "/nope.txt"},
		{"file line", "{type: api_key, consumers_file: three-fields.txt}", dir + "/three-fields.txt:1: want \"ID SHA256HEX\", got 3 fields"},
		{"file duplicate of inline", "{type: api_key, consumers_file: dup.txt, consumers: [{id: a, key_sha256: " + good + "}]}", dir + `/dup.txt:2: consumer "b" has the same key as consumer "a"`},
		{"file empty", "{type: api_key, consumers_file: empty.txt}", "no consumers (consumers_file is empty)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := buildText(t, dir, tc.inst)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got  %v\nwant …%s…", err, tc.want)
			}
		})
	}
}

func TestAllocs(t *testing.T) {
	f, err := buildText(t, t.TempDir(), `{type: api_key, query: k, consumers: [{id: mobile-app, key_sha256: `+hashOf("s3cret mobile")+`}]}`)
	if err != nil {
		t.Fatal(err)
	}
	for name, x := range map[string]*filter.Exchange{
		"header": exchange("", "X-API-Key: s3cret mobile"),
		"query":  exchange("k=s3cret%20mobile"),
	} {
		req := x.Req
		n := testing.AllocsPerRun(1000, func() {
			x.Reset(nil)
			x.Req = req
			if f.Request(x) != filter.Continue {
				panic(x.Message)
			}
		})
		if n != 0 {
			t.Errorf("%s: %v allocations per request", name, n)
		}
	}
}
