// Package require is the `type: require` middleware: it authorizes a
// request by the claims an authentication filter (type jwt) put on it.
//
//	middleware:
//	  admins_only: {type: require, claims: {role: admin}}
//	  writers:     {type: require, claims: {role: [editor, admin]}, scopes: [orders:write]}
//
// Every entry of `claims` must match: the claim equals one of the listed
// values (compared as text, numbers also by value, so 3 matches 3.0; an
// array claim matches when one of its elements does). Every scope of
// `scopes` must be in the token's `scope` claim, a space-separated string
// (RFC 8693 §4.2) or an array of strings.
//
// Outcomes:
//
//	no identity (no claims)  401 {"error":"Authentication required"}, WWW-Authenticate: Bearer
//	a claim does not match   403 {"error":"Forbidden"}
//	a scope is missing       403 {"error":"Forbidden"},
//	                         WWW-Authenticate: Bearer error="insufficient_scope", scope="..." (RFC 6750 §3.1)
//
// require must come after an authentication filter in the route's
// middleware list. The decoder sees one instance at a time and cannot
// check the order; the 401 is the runtime answer to a route that has no
// such filter (the pipeline checks the order through
// filter.ClaimsChecker and filter.ClaimsProvider).
package require

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/auth"
	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
)

func init() {
	filter.Register(filter.Type{Name: "require", Decode: decode, Build: build})
}

// MsgForbidden is the message of the 403 response.
const MsgForbidden = "Forbidden"

var challengeBare = []byte("Bearer")

// Filter is a built require instance. It is immutable, so every loop may
// use it at once.
type Filter struct {
	rules  []Rule
	scopes []string
	// scopeChallenge is the WWW-Authenticate value for missing scopes.
	scopeChallenge []byte
}

func build(m *config.Middleware) (filter.Filter, error) {
	s, ok := m.Settings.(*Settings)
	if !ok {
		return nil, fmt.Errorf("%w (got %T)", errSettings, m.Settings)
	}
	return New(s), nil
}

// New builds a filter from decoded settings.
func New(s *Settings) *Filter {
	f := &Filter{rules: s.Rules, scopes: s.Scopes}
	if len(s.Scopes) > 0 {
		f.scopeChallenge = []byte(`Bearer error="insufficient_scope", scope="` + strings.Join(s.Scopes, " ") + `"`)
	}
	return f
}

// Gate marks the filter as one that refuses requests (an unmet claim rule is refused).
func (*Filter) Gate() {}

// Request checks the claims. Any loop; no allocation.
func (f *Filter) Request(x *filter.Exchange) filter.Verdict {
	if x.Claims == nil {
		x.AddResponseHeader("WWW-Authenticate", challengeBare)
		return x.Reject(401, auth.MsgAuthRequired)
	}
	for i := range f.rules {
		if !f.rules[i].match(x.Claims[f.rules[i].Claim]) {
			return x.Reject(403, MsgForbidden)
		}
	}
	if len(f.scopes) > 0 {
		granted := x.Claims["scope"]
		for _, want := range f.scopes {
			if !hasScope(granted, want) {
				x.AddResponseHeader("WWW-Authenticate", f.scopeChallenge)
				return x.Reject(403, MsgForbidden)
			}
		}
	}
	return filter.Continue
}

// NeedsClaims implements filter.ClaimsChecker: a require filter needs an
// authentication filter before it in a route.
func (f *Filter) NeedsClaims() bool { return true }

// match reports whether claim value v (as auth decodes claims: string,
// json.Number, bool, []any, or float64 from other sources) satisfies r.
func (r *Rule) match(v any) bool {
	switch v := v.(type) {
	case string:
		return r.text(v)
	case bool:
		return r.text(strconv.FormatBool(v)) // constant strings: no allocation
	case json.Number:
		if r.text(string(v)) {
			return true
		}
		if len(r.nums) > 0 {
			if n, err := strconv.ParseFloat(string(v), 64); err == nil {
				return r.num(n)
			}
		}
	case float64:
		return r.num(v)
	case []any:
		for _, e := range v {
			if _, nested := e.([]any); !nested && r.match(e) {
				return true
			}
		}
	}
	return false
}

func (r *Rule) text(s string) bool {
	for _, want := range r.Values {
		if s == want {
			return true
		}
	}
	return false
}

func (r *Rule) num(n float64) bool {
	for _, want := range r.nums {
		if n == want {
			return true
		}
	}
	return false
}

// hasScope reports whether the scope claim grants want.
func hasScope(granted any, want string) bool {
	switch g := granted.(type) {
	case string:
		for g != "" {
			var tok string
			tok, g, _ = strings.Cut(g, " ")
			if tok == want {
				return true
			}
		}
	case []any:
		for _, e := range g {
			if s, ok := e.(string); ok && s == want {
				return true
			}
		}
	}
	return false
}
