package proxy

import (
	"crypto/rand"
	"encoding/binary"
)

// idLen is the length of a generated request ID: 32 hex digits, the first 16
// random per process and loop, the last 16 a per-loop counter. Unique without
// a syscall or a lock per request.
const idLen = 32

func newIDSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// newRequestID fills id with a fresh request ID. Loop only.
func (lp *Worker) newRequestID(id *[idLen]byte) {
	lp.reqSeq++
	putHex(id[:16], lp.e.idSeed^uint64(lp.idx)<<56)
	putHex(id[16:], lp.reqSeq)
}

func putHex(dst []byte, v uint64) {
	const hex = "0123456789abcdef"
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = hex[v&0xf]
		v >>= 4
	}
}

// validRequestID accepts a client's X-Request-ID only when it is short and
// plain, so it is safe to echo into headers, logs and JSON.
func validRequestID(id []byte) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}
