package observe

import "testing"

// TestAppendLogQuery: secret-looking parameters lose their values, the
// rest of the query is written as sent.
func TestAppendLogQuery(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"q=1", "q=1"},
		{"q=1&page=2", "q=1&page=2"},
		{"access_token=abc&q=1", "access_token=[redacted]&q=1"},
		{"API_KEY=abc", "API_KEY=[redacted]"},
		{"apiKey=abc;x=1", "apiKey=[redacted];x=1"},
		{"sig=deadbeef&X-Amz-Signature=ff", "sig=[redacted]&X-Amz-Signature=[redacted]"},
		{"password=&user=bob", "password=&user=bob"}, // empty: nothing to hide
		{"flag&token", "flag&token"},                 // names without values
		{"t=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "t=[redacted]"},
		{"t=eyJnotajwt", "t=eyJnotajwt"},
		{"a=1&&b=2&", "a=1&&b=2&"},
		{"oauth_code=1&state=x", "oauth_code=[redacted]&state=x"},
	} {
		if got := string(AppendLogQuery(nil, []byte(tc.in))); got != tc.want {
			t.Errorf("AppendLogQuery(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
