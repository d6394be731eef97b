package http1

// Serializers for the heads the gateway writes. They append to dst so the
// engine can build a whole head in one pooled buffer and write it with one
// syscall. They do not validate: callers pass names and values that came
// out of the parser or from configuration that was checked at load time.

// AppendRequestLine appends "METHOD target HTTP/1.x\r\n"; minor 0 writes
// HTTP/1.0, anything else HTTP/1.1.
func AppendRequestLine(dst, method, target []byte, minor int) []byte {
	dst = append(dst, method...)
	dst = append(dst, ' ')
	dst = append(dst, target...)
	if minor == 0 {
		return append(dst, " HTTP/1.0\r\n"...)
	}
	return append(dst, " HTTP/1.1\r\n"...)
}

// AppendHeader appends one field line, "name: value\r\n".
func AppendHeader(dst, name, value []byte) []byte {
	dst = append(dst, name...)
	dst = append(dst, ':', ' ')
	dst = append(dst, value...)
	return append(dst, '\r', '\n')
}

// AppendHeaderString is AppendHeader for a constant name and value.
func AppendHeaderString(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ':', ' ')
	dst = append(dst, value...)
	return append(dst, '\r', '\n')
}
