package filter

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"hash"
	"os"
	"path/filepath"
)

// Reusable is implemented by the decoded settings of a middleware type
// (what its Decode stores in config.Middleware.Settings) when a filter built
// from them may serve the next config snapshot as it is, keeping its state:
// a rate limiter's buckets, a JWKS cache and its refresher.
//
// On every reload the pipeline calls ReloadInputs on the new settings,
// before building anything, and carries the previous snapshot's filter
// over when the type, the settings (reflect.DeepEqual) and the fingerprint
// of the inputs all match; otherwise it calls the type's Build again.
//
// Settings that do not implement Reusable (the default) are rebuilt on every
// reload: Build may read files or the environment in ways the pipeline
// cannot see. audit_log relies on this to reopen its file, so log rotation
// works with SIGHUP.
type Reusable interface {
	// ReloadInputs names, through in, everything Build reads besides the
	// settings themselves: files and environment variables. A type whose
	// Build reads nothing else (rate_limit, require) leaves in untouched.
	// Called off the loops, on the goroutine running the reload; it must
	// read nothing itself.
	ReloadInputs(in *Inputs)
}

// Inputs fingerprints what a filter's Build reads from outside the config
// (see Reusable). The fingerprint is keyed with a per-process secret, so the
// digests kept in memory say nothing about a secret outside this process,
// and the bytes read are cleared after hashing. The zero value is not
// usable; FingerprintInputs makes one. One goroutine.
type Inputs struct {
	h      hash.Hash
	failed bool
}

// File adds the content of the file at path, resolved against dir when it
// is relative (as the filters resolve config paths). An unreadable file
// makes the instance not reusable: its Build then reports the error.
func (in *Inputs) File(dir, path string) {
	if !filepath.IsAbs(path) && dir != "" {
		path = filepath.Join(dir, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		in.failed = true
		return
	}
	in.add('f', b)
	clear(b) // it may be a secret
}

// Env adds the value of the environment variable name. An unset variable
// makes the instance not reusable.
func (in *Inputs) Env(name string) {
	v, ok := os.LookupEnv(name)
	if !ok {
		in.failed = true
		return
	}
	in.add('e', []byte(v))
}

// add writes one input, tagged and length-prefixed so that inputs never run
// into each other (a file "ab" and a file "" differ from "a" and "b").
func (in *Inputs) add(tag byte, b []byte) {
	n := uint64(len(b))
	var pre [9]byte
	pre[0] = tag
	for i := 1; i < 9; i++ {
		pre[i] = byte(n >> (8 * (8 - i)))
	}
	in.h.Write(pre[:])
	in.h.Write(b)
}

// Fingerprint is what FingerprintInputs returns: a keyed digest of a
// filter's inputs. Only equality between two fingerprints of one process
// means anything.
type Fingerprint [sha256.Size]byte

// fingerprintKey keys every Inputs hash of this process.
var fingerprintKey = func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // never fails (crypto/rand panics instead)
	return k
}()

// FingerprintInputs fingerprints the inputs of an instance whose decoded
// settings are settings. reusable is false when settings do not implement
// Reusable or one of the inputs could not be read; the instance must then
// be rebuilt. The pipeline calls it before building the filter: if a file
// changes in between, the recorded fingerprint is the older one and the
// next reload rebuilds, never the other way round. Any goroutine.
func FingerprintInputs(settings any) (fp Fingerprint, reusable bool) {
	r, ok := settings.(Reusable)
	if !ok {
		return Fingerprint{}, false
	}
	in := &Inputs{h: hmac.New(sha256.New, fingerprintKey)}
	r.ReloadInputs(in)
	if in.failed {
		return Fingerprint{}, false
	}
	in.h.Sum(fp[:0])
	return fp, true
}
