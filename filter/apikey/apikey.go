// Package apikey is the `type: api_key` middleware: it authenticates
// requests by a static key and names the consumer that holds it.
//
//	middleware:
//	  keys:
//	    type: api_key
//	    header: X-API-Key          # default
//	    query: api_key             # optional fallback, off by default
//	    consumers:
//	      - {id: mobile-app, key_sha256: 3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b}
//	    consumers_file: consumers.txt   # "ID SHA256HEX" per line
//
// Only SHA-256 hashes of the keys are configured (`sluice hash-key` prints
// one). A request's key is hashed and looked up by its hash; the match is
// then confirmed with crypto/subtle. The lookup's timing depends on the
// hash of the presented key, never on a secret byte an attacker could
// guess one at a time, which is the property constant-time comparison is
// for; a linear constant-time scan would cost O(consumers) per request
// for nothing more. Nothing is allocated per request.
//
// Outcomes:
//
//	no key                 401 {"error":"Authentication required"}
//	unknown key            401 {"error":"Invalid API key"}
//	two key headers        401 {"error":"Invalid API key"}
//	known key              Exchange.Consumer = ID, upstream X-Consumer-ID: ID,
//	                       the key header stripped upstream
//
// No WWW-Authenticate header is sent: API keys have no registered HTTP
// authentication scheme. A key given in the query string stays in the URL
// sent upstream (the gateway does not rewrite URLs); prefer the header.
package apikey

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluicehq/sluice/auth"
	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/http1"
)

func init() {
	filter.Register(filter.Type{Name: "api_key", Decode: decode, Build: build})
}

// Messages of the 401 responses.
const (
	MsgAuthRequired = auth.MsgAuthRequired
	MsgInvalid      = "Invalid API key"
)

// ConsumerHeader is the upstream header naming the consumer. The engine
// strips client-sent X-Consumer-* headers, so only this filter sets it.
const ConsumerHeader = "X-Consumer-ID"

// maxKey bounds a key taken from the query string (decoded on the stack).
const maxKey = 512

// Filter is a built api_key instance. It is immutable, so every loop may
// use it at once.
type Filter struct {
	header string
	query  string
	byHash map[[sha256.Size]byte]*consumer
}

type consumer struct {
	id   []byte
	hash [sha256.Size]byte
}

func build(m *config.Middleware) (filter.Filter, error) {
	s, ok := m.Settings.(*Settings)
	if !ok {
		return nil, fmt.Errorf("%w (got %T)", errSettings, m.Settings)
	}
	return New(s)
}

// New builds a filter from decoded settings, reading ConsumersFile.
// Errors in the file name its path and line.
func New(s *Settings) (*Filter, error) {
	f := &Filter{header: s.Header, query: s.Query, byHash: map[[sha256.Size]byte]*consumer{}}
	ids, hashes := map[string]bool{}, map[string]string{}
	for i, c := range s.Consumers {
		if err := checkConsumer(c, ids, hashes); err != nil {
			return nil, fmt.Errorf("consumers[%d]: %w", i, err)
		}
		f.add(c)
	}
	if s.ConsumersFile != "" {
		p := s.ConsumersFile
		if !filepath.IsAbs(p) && s.Dir != "" {
			p = filepath.Join(s.Dir, p)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("consumers_file: %w", err)
		}
		list, err := parseConsumersFile(data, p)
		if err != nil {
			return nil, fmt.Errorf("consumers_file: %w", err)
		}
		for _, c := range list {
			if err := checkConsumer(c.Consumer, ids, hashes); err != nil {
				return nil, fmt.Errorf("consumers_file: %s:%d: %w", p, c.line, err)
			}
			f.add(c.Consumer)
		}
	}
	if len(f.byHash) == 0 {
		return nil, errors.New("no consumers (consumers_file is empty)")
	}
	return f, nil
}

func (f *Filter) add(c Consumer) {
	var h [sha256.Size]byte
	_, _ = hex.Decode(h[:], []byte(strings.ToLower(c.KeySHA256)))
	f.byHash[h] = &consumer{id: []byte(c.ID), hash: h}
}

// Gate marks the filter as one that refuses requests (a missing or unknown key is refused).
func (*Filter) Gate() {}

// Request authenticates the request. Any loop; allocation-free.
func (f *Filter) Request(x *filter.Exchange) filter.Verdict {
	var key []byte
	n := 0
	if r := x.Req; r != nil {
		for i := range r.Headers {
			if h := &r.Headers[i]; http1.EqualFold(h.Name, f.header) {
				key = h.Value
				n++
			}
		}
		if n > 1 {
			return x.Reject(401, MsgInvalid)
		}
		var buf [maxKey]byte
		if n == 0 && f.query != "" {
			if raw, ok := auth.QueryParam(r.Query, f.query); ok && len(raw) > 0 {
				var decoded bool
				if len(raw) > maxKey {
					return x.Reject(401, MsgInvalid)
				}
				if key, decoded = auth.PercentDecode(buf[:0], raw); !decoded {
					return x.Reject(401, MsgInvalid)
				}
			}
		}
		if len(key) > 0 {
			return f.check(x, sha256.Sum256(key))
		}
	}
	return x.Reject(401, MsgAuthRequired)
}

// check looks the key's hash up and confirms it in constant time.
func (f *Filter) check(x *filter.Exchange, h [sha256.Size]byte) filter.Verdict {
	c := f.byHash[h]
	if c == nil || subtle.ConstantTimeCompare(c.hash[:], h[:]) != 1 {
		return x.Reject(401, MsgInvalid)
	}
	x.Consumer = c.id
	x.AddUpstreamHeader(ConsumerHeader, c.id)
	x.StripUpstream(f.header)
	return filter.Continue
}

// Consumers is the number of consumers the filter knows.
func (f *Filter) Consumers() int { return len(f.byHash) }
