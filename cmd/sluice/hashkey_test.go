package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
)

func TestHashKey(t *testing.T) {
	// sha256("s3cret") computed independently: printf s3cret | sha256sum
	const s3cret = "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0"
	cases := []struct {
		name, stdin string
		args        []string
		code        int
		out, errSub string
	}{
		{"argument", "", []string{"s3cret"}, 0, s3cret, ""},
		{"stdin with newline", "s3cret\n", nil, 0, s3cret, ""},
		{"stdin with CRLF and spaces", "  s3cret \r\n", nil, 0, s3cret, ""},
		{"empty stdin", "", nil, 1, "", "empty key"},
		{"blank argument", "", []string{"  "}, 1, "", "empty key"},
		{"two arguments", "", []string{"a", "b"}, 2, "", "usage: sluice hash-key"},
		{"help", "", []string{"-h"}, 0, "", "usage: sluice hash-key"},
		{"too much input", strings.Repeat("k", maxKeyInput+1), nil, 1, "", "more than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := hashKey(tc.args, strings.NewReader(tc.stdin), &out, &errb)
			if code != tc.code || strings.TrimSpace(out.String()) != tc.out || !strings.Contains(errb.String(), tc.errSub) {
				t.Errorf("code %d out %q err %q", code, out.String(), errb.String())
			}
		})
	}
}

// TestRunHashKey: `sluice hash-key` is dispatched before flag parsing.
func TestRunHashKey(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	code := run([]string{"hash-key", "s3cret"}, io.Discard)
	os.Stdout = old
	w.Close()
	out, _ := io.ReadAll(r)
	if code != 0 || strings.TrimSpace(string(out)) != "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0" {
		t.Errorf("code %d, out %q", code, out)
	}
}
