package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
)

// maxKeyInput bounds what hash-key reads from standard input.
const maxKeyInput = 64 << 10

const hashKeyUsage = `usage: sluice hash-key [KEY]

Prints the hex SHA-256 of an API key, the value of key_sha256 in an api_key
consumer (or the second field of a consumers_file line). The key is read
from standard input when not given as an argument (an argument stays in
your shell history); surrounding whitespace and the trailing newline are
dropped, as they would be from a header value.

  head -c 32 /dev/urandom | base64 | tee key.txt | sluice hash-key
`

// hashKey implements `sluice hash-key [KEY]`: 0 on success, 1 for an empty
// or unreadable key, 2 for a usage error.
func hashKey(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var key []byte
	switch {
	case len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help"):
		fmt.Fprint(stderr, hashKeyUsage)
		return 0
	case len(args) > 1:
		fmt.Fprint(stderr, hashKeyUsage)
		return 2
	case len(args) == 1:
		key = []byte(args[0])
	default:
		b, err := io.ReadAll(io.LimitReader(stdin, maxKeyInput+1))
		if err != nil {
			fmt.Fprintf(stderr, "hash-key: reading standard input: %v\n", err)
			return 1
		}
		if len(b) > maxKeyInput {
			fmt.Fprintf(stderr, "hash-key: more than %d bytes on standard input\n", maxKeyInput)
			return 1
		}
		key = b
	}
	// A header value arrives with surrounding whitespace removed (RFC
	// 9110 §5.5), so a key with any could never match.
	key = bytes.TrimSpace(key)
	if len(key) == 0 {
		fmt.Fprintln(stderr, "hash-key: empty key")
		return 1
	}
	sum := sha256.Sum256(key)
	fmt.Fprintln(stdout, hex.EncodeToString(sum[:]))
	return 0
}
