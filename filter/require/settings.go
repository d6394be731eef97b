package require

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/config"
)

// Settings is a decoded `type: require` instance, stored by Decode in
// config.Middleware.Settings.
type Settings struct {
	// Claims (yaml `claims`): claim name -> a value or a list of values;
	// the claim must equal one of them (an array claim: one of its
	// elements must). Values are strings, numbers or booleans.
	Claims map[string]any `yaml:"claims"`
	// Scopes (yaml `scopes`): every one must be in the token's `scope`
	// claim (space-separated string, or an array of strings).
	Scopes []string `yaml:"scopes"`

	// Rules is Claims parsed, sorted by claim name.
	Rules []Rule `yaml:"-"`
}

// Rule is one claims entry: Claim must match one of Values.
type Rule struct {
	Claim  string
	Values []string
	// nums holds the values that are numbers, so 3 matches 3.0.
	nums []float64
}

// decode is the config.MiddlewareDecoder of `type: require`.
func decode(m *config.Middleware) error {
	s := &Settings{}
	if err := m.Decode(s); err != nil {
		return err
	}
	var errs []error
	if len(s.Claims) == 0 && len(s.Scopes) == 0 {
		errs = append(errs, errors.New("nothing required: set claims, scopes or both"))
	}
	for name, v := range s.Claims {
		r := Rule{Claim: name}
		if name == "" {
			errs = append(errs, m.Errorf("claims", "empty claim name"))
			continue
		}
		list, isList := v.([]any)
		if !isList {
			list = []any{v}
		}
		if len(list) == 0 {
			errs = append(errs, m.Errorf("claims."+name, "empty list: no value could match"))
			continue
		}
		for _, e := range list {
			text, num, isNum, err := scalar(e)
			if err != nil {
				errs = append(errs, m.Errorf("claims."+name, "%v", err))
				continue
			}
			r.Values = append(r.Values, text)
			if isNum {
				r.nums = append(r.nums, num)
			}
		}
		s.Rules = append(s.Rules, r)
	}
	slices.SortFunc(s.Rules, func(a, b Rule) int { return strings.Compare(a.Claim, b.Claim) })
	for _, sc := range s.Scopes {
		if !validScope(sc) {
			errs = append(errs, m.Errorf("scopes", "%q is not a scope token (RFC 6749 §3.3: printable ASCII without space, quote or backslash)", sc))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	m.Settings = s
	return nil
}

// scalar renders a YAML scalar the way claims render (auth.AppendClaim).
func scalar(v any) (text string, num float64, isNum bool, err error) {
	switch v := v.(type) {
	case string:
		return v, 0, false, nil
	case bool:
		return strconv.FormatBool(v), 0, false, nil
	case uint64:
		return strconv.FormatUint(v, 10), float64(v), true, nil
	case int64:
		return strconv.FormatInt(v, 10), float64(v), true, nil
	case int:
		return strconv.Itoa(v), float64(v), true, nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "", 0, false, fmt.Errorf("%v is not a claim value", v)
		}
		return strconv.FormatFloat(v, 'f', -1, 64), v, true, nil
	case nil:
		return "", 0, false, errors.New("null: write the value to require")
	}
	return "", 0, false, fmt.Errorf("want a string, number or boolean (or a list of them), got %T", v)
}

// validScope: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
func validScope(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// errSettings is returned by Build for a middleware whose Settings are not
// a *Settings (it was not decoded by this package).
var errSettings = errors.New("require: settings were not decoded")
