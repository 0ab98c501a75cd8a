package canon

import (
	"errors"
	"fmt"
	"github.com/gatehouse/gatehouse/abi"
	"net/url"
	"unicode/utf8"
)

// maxPathLen is the largest decoded path, in bytes, that CanonicalPath
// accepts.
const maxPathLen = abi.MaxPath

// ErrBadPath is the sentinel wrapped by every error CanonicalPath returns.
// Test for it with errors.Is. The wrapped message is a short, fixed reason
// that never contains the input, so it is safe to show to a client.
var ErrBadPath = errors.New("bad request path")

// The errors are allocated once so that rejecting a path does not allocate.
var (
	errEmpty       = fmt.Errorf("%w: empty path", ErrBadPath)
	errNoSlash     = fmt.Errorf("%w: path must start with /", ErrBadPath)
	errTooLong     = fmt.Errorf("%w: path too long", ErrBadPath)
	errBadEscape   = fmt.Errorf("%w: invalid percent-encoding", ErrBadPath)
	errEncSlash    = fmt.Errorf("%w: encoded slash", ErrBadPath)
	errBackslash   = fmt.Errorf("%w: backslash", ErrBadPath)
	errNUL         = fmt.Errorf("%w: NUL byte", ErrBadPath)
	errControl     = fmt.Errorf("%w: control character", ErrBadPath)
	errUTF8        = fmt.Errorf("%w: invalid UTF-8", ErrBadPath)
	errAboveRoot   = fmt.Errorf("%w: dot-segment above root", ErrBadPath)
	errDotParamSeg = fmt.Errorf("%w: dot-segment with parameters", ErrBadPath)
)

// CanonicalPath returns the single decoded, normalized path the gateway uses
// for routing, policies, cache keys and forwarding.
//
// escaped is the request path exactly as the client sent it, still
// percent-encoded: what r.URL.EscapedPath() returns, or the path part of
// r.RequestURI. The result is decoded, has runs of slashes collapsed, and has
// "." and ".." segments (raw or percent-encoded) resolved as in RFC 3986
// section 5.2.4. A trailing slash is kept.
//
// It fails, with an error wrapping ErrBadPath, when the path is empty or does
// not start with "/", contains an invalid percent escape, an encoded slash
// (%2F), a backslash or %5C, NUL or any other control byte (raw or encoded),
// a ".." that would climb above the root, a "." or ".." segment followed by
// ";" parameters, invalid UTF-8 after decoding, or more than 8192 bytes after
// decoding. See the package documentation for why each rule exists.
//
// When escaped is already canonical (no '%', no dot segments, no repeated
// slashes) it is returned unchanged without allocating.
func CanonicalPath(escaped string) (string, error) {
	if escaped == "" {
		return "", errEmpty
	}
	if escaped[0] != '/' {
		return "", errNoSlash
	}
	// Every decoded byte consumes at most three input bytes, so a longer
	// input cannot decode to an acceptable length. Checking here bounds the
	// work done on hostile input.
	if len(escaped) > 3*maxPathLen {
		return "", errTooLong
	}
	if isCanonical(escaped) {
		return escaped, nil
	}
	return canonicalSlow(escaped)
}

// isCanonical reports whether s (which starts with "/") is already in
// canonical form, so CanonicalPath may return it as is. It returns false for
// anything that needs decoding, normalizing or rejecting; canonicalSlow then
// decides which.
func isCanonical(s string) bool {
	if len(s) > maxPathLen {
		return false
	}
	ascii := true
	seg := 1 // start of the current segment
	for i := 1; i <= len(s); i++ {
		if i < len(s) {
			c := s[i]
			if c != '/' {
				switch {
				case c == '%', c == '\\', c < 0x20, c == 0x7f:
					return false
				case c >= 0x80:
					ascii = false
				}
				continue
			}
			if i == seg { // "//": an empty segment
				return false
			}
		}
		if isDotLike(s[seg:i]) {
			return false
		}
		seg = i + 1
	}
	return ascii || utf8.ValidString(s)
}

// isDotLike reports whether seg is ".", "..", or one of them followed by ";"
// parameters.
func isDotLike[T string | []byte](seg T) bool {
	if len(seg) == 0 || seg[0] != '.' {
		return false
	}
	if len(seg) == 1 || seg[1] == ';' {
		return true
	}
	return seg[1] == '.' && (len(seg) == 2 || seg[2] == ';')
}

// canonicalSlow decodes s (which starts with "/" and is at most
// 3*maxPathLen bytes) and normalizes the result in place.
func canonicalSlow(s string) (string, error) {
	// Most paths fit in a stack buffer; the +1 leaves room for the '/' the
	// normalizer appends after the last segment, so it never reallocates.
	var stack [256]byte
	var buf []byte
	if len(s) < len(stack) {
		buf = stack[:0]
	} else {
		buf = make([]byte, 0, min(len(s), maxPathLen)+1)
	}

	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) {
				return "", errBadEscape
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return "", errBadEscape
			}
			c = hi<<4 | lo
			i += 2
			if c == '/' {
				return "", errEncSlash
			}
		}
		switch {
		case c == '\\':
			return "", errBackslash
		case c == 0:
			return "", errNUL
		case c < 0x20, c == 0x7f:
			return "", errControl
		case c >= 0x80:
			ascii = false
		}
		if len(buf) == maxPathLen {
			return "", errTooLong
		}
		buf = append(buf, c)
	}
	if !ascii && !utf8.Valid(buf) {
		return "", errUTF8
	}

	// Normalize in place. Since an encoded slash was rejected, every '/' in
	// buf was a real separator in the input. out always ends in '/'. Each
	// segment is copied before anything is written over it, and out never
	// grows past the next unread segment, so writing into buf's array is
	// safe.
	// Read the last byte now: the loop below overwrites buf.
	endsInSlash := buf[len(buf)-1] == '/'
	out := buf[:1] // buf[0] == '/' because s[0] == '/'
	trailing := false
	for i := 1; i < len(buf); {
		if buf[i] == '/' { // collapse runs of slashes
			i++
			continue
		}
		j := i
		for j < len(buf) && buf[j] != '/' {
			j++
		}
		seg := buf[i:j]
		switch {
		case len(seg) == 1 && seg[0] == '.':
			trailing = true
		case len(seg) == 2 && seg[0] == '.' && seg[1] == '.':
			if len(out) == 1 {
				return "", errAboveRoot
			}
			k := len(out) - 2
			for out[k] != '/' {
				k--
			}
			out = out[:k+1]
			trailing = true
		case isDotLike(seg):
			return "", errDotParamSeg
		default:
			out = append(out, seg...)
			out = append(out, '/')
			trailing = false
		}
		i = j
	}
	// As in RFC 3986, a final "." or ".." leaves a trailing slash ("/a/b/.."
	// is "/a/"), and so does a trailing slash in the input.
	if endsInSlash {
		trailing = true
	}
	if !trailing && len(out) > 1 {
		out = out[:len(out)-1]
	}
	return string(out), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// EscapePath returns the percent-encoded form of a canonical path, suitable
// for the upstream request line. It has the semantics of
// url.URL{Path: canonical}.EscapedPath(): letters, digits, "-._~", '/' and
// ":@&=+$,;" are kept; every other byte, including '?', '#', '%', space,
// "!'()*" and every non-ASCII byte, is percent-encoded.
// CanonicalPath(EscapePath(p)) == p for every p that CanonicalPath returns.
//
// It does not allocate when nothing needs escaping.
func EscapePath(canonical string) string {
	u := url.URL{Path: canonical}
	return u.EscapedPath()
}
