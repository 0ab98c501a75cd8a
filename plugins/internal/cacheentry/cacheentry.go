// Package cacheentry is the format in which cache-store keeps a response in
// the gateway's value cache and cache-lookup reads it back.
//
// An entry is, in order:
//
//	version   1 byte, 1
//	status    uvarint
//	headers   uvarint count, then for each header line:
//	          uvarint name length, name, uvarint value length, value
//	body      the remaining bytes
//
// Uvarints are encoding/binary's. Header names are canonical; a header with
// several values has one line per value. Anything else (another version, a
// truncated entry) fails to decode and is treated as a miss.
package cacheentry

import (
	"encoding/binary"
	"errors"
)

// Version is the format version this package writes.
const Version = 1

// KeyVar is the variable through which cache-lookup tells cache-store, on a
// miss, under which key to store the response.
const KeyVar = "cache-lookup.key"

// Header is one header line.
type Header struct{ Name, Value string }

// Entry is a decoded cached response.
type Entry struct {
	Status  int
	Headers []Header
	// Body aliases the decoded buffer.
	Body []byte
}

// ErrCorrupt is returned for data that is not an entry of this version.
var ErrCorrupt = errors.New("cacheentry: not a valid cache entry")

// Append encodes a response and appends it to dst.
func Append(dst []byte, status int, headers []Header, body []byte) []byte {
	dst = append(dst, Version)
	dst = binary.AppendUvarint(dst, uint64(status))
	dst = binary.AppendUvarint(dst, uint64(len(headers)))
	for _, h := range headers {
		dst = binary.AppendUvarint(dst, uint64(len(h.Name)))
		dst = append(dst, h.Name...)
		dst = binary.AppendUvarint(dst, uint64(len(h.Value)))
		dst = append(dst, h.Value...)
	}
	return append(dst, body...)
}

// Decode decodes an entry. The body aliases b.
func Decode(b []byte) (Entry, error) {
	if len(b) == 0 || b[0] != Version {
		return Entry{}, ErrCorrupt
	}
	b = b[1:]
	status, b, ok := uvarint(b)
	if !ok || status < 100 || status > 599 {
		return Entry{}, ErrCorrupt
	}
	n, b, ok := uvarint(b)
	if !ok || n > uint64(len(b))/2 {
		return Entry{}, ErrCorrupt
	}
	e := Entry{Status: int(status), Headers: make([]Header, n)}
	for i := range e.Headers {
		var name, value []byte
		if name, b, ok = field(b); !ok {
			return Entry{}, ErrCorrupt
		}
		if value, b, ok = field(b); !ok {
			return Entry{}, ErrCorrupt
		}
		e.Headers[i] = Header{string(name), string(value)}
	}
	e.Body = b
	return e, nil
}

func uvarint(b []byte) (uint64, []byte, bool) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, false
	}
	return v, b[n:], true
}

func field(b []byte) ([]byte, []byte, bool) {
	n, b, ok := uvarint(b)
	if !ok || n > uint64(len(b)) {
		return nil, nil, false
	}
	return b[:n], b[n:], true
}
