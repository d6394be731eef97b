package config

// MinAdminTokenLen is the shortest admin token AdminToken accepts: a guess
// at 16 random characters is out of reach, a word such as "changeme" is not.
const MinAdminTokenLen = 16

// adminToken checks the admin_token_env key. Only the variable's name is
// in the file; its value is read by AdminToken when the gateway starts or
// reloads, not here, since validation does no I/O.
func (k *checker) adminToken() {
	if name := k.c.AdminTokenEnv; name != "" && !validEnvName(name) {
		k.errf("admin_token_env", "%q is not an environment variable name (letters, digits and '_', not starting with a digit)", name)
	}
}

// validEnvName reports whether s is a portable environment variable name
// (POSIX: [A-Za-z_][A-Za-z0-9_]*).
func validEnvName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '_' && !isAlnum(c) || i == 0 && c >= '0' && c <= '9' {
			return false
		}
	}
	return s != ""
}

// AdminToken returns the admin API's bearer token: the value of the
// environment variable named by AdminTokenEnv, looked up with lookup
// (os.LookupEnv in the binary, a map in tests). It returns "" and no error
// when AdminTokenEnv is "" (no token required). A variable that is unset,
// shorter than MinAdminTokenLen, or holds anything but visible ASCII (a
// header value could never carry it intact) is an *Error at the
// admin_token_env key, so start-up and reload refuse it the way they refuse
// any other config error: the admin API never runs unprotected by mistake.
// The token is never part of the message. Any goroutine.
func (c *Config) AdminToken(lookup func(name string) (string, bool)) (string, error) {
	name := c.AdminTokenEnv
	if name == "" {
		return "", nil
	}
	k := &checker{c: c}
	fail := func(format string, args ...any) (string, error) {
		return "", errorf(k.at("admin_token_env"), "admin_token_env", format, args...)
	}
	tok, ok := lookup(name)
	switch {
	case !ok || tok == "":
		return fail("environment variable %s is not set or empty", name)
	case len(tok) < MinAdminTokenLen:
		return fail("the token in %s is %d bytes; use at least %d (e.g. head -c 32 /dev/urandom | base64)", name, len(tok), MinAdminTokenLen)
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] >= 0x7f {
			return fail("the token in %s holds a space, a control or a non-ASCII byte at offset %d; use visible ASCII only", name, i)
		}
	}
	return tok, nil
}
