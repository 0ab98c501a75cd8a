package gateway

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand"
	"testing"
)

// frame builds one WebSocket frame with n payload bytes.
func frame(rng *rand.Rand, n int, masked bool) []byte {
	b := []byte{0x82}
	m := byte(0)
	if masked {
		m = 0x80
	}
	switch {
	case n < 126:
		b = append(b, m|byte(n))
	case n < 1<<16:
		b = append(b, m|126, 0, 0)
		binary.BigEndian.PutUint16(b[2:], uint16(n))
	default:
		b = append(b, m|127, 0, 0, 0, 0, 0, 0, 0, 0)
		binary.BigEndian.PutUint64(b[2:], uint64(n))
	}
	if masked {
		b = append(b, 1, 2, 3, 4)
	}
	p := make([]byte, n)
	rng.Read(p)
	return append(b, p...)
}

// The close frame goes between two frames, never inside one, whatever the
// chunks the bytes come in and wherever the shutdown falls; nothing is
// written after it.
func TestGoingAwayAtFrameBoundary(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for round := range 300 {
		masked := round%2 == 0
		var stream []byte
		var ends []int // frame boundaries in stream
		for range 1 + rng.Intn(6) {
			n := []int{0, 1, 125, 126, 127, 300, 65535, 65536, 70000}[rng.Intn(9)]
			stream = append(stream, frame(rng, n, masked)...)
			ends = append(ends, len(stream))
		}
		var out bytes.Buffer
		d := &wsDir{w: &out, mask: masked}
		at := rng.Intn(len(stream) + 1) // where the shutdown starts
		for off := 0; off < len(stream); {
			if off >= at && !d.closing {
				d.goAway()
			}
			k := min(len(stream)-off, 1+rng.Intn(40000))
			if at > off && at < off+k {
				k = at - off
			}
			if n, err := d.write(stream[off : off+k]); n != k || err != nil {
				t.Fatalf("round %d: write %d → %d %v", round, k, n, err)
			}
			off += k
		}
		if !d.closing {
			d.goAway()
		}
		want := 0 // the first boundary at or after the shutdown
		for _, e := range append([]int{0}, ends...) {
			if e >= at {
				want = e
				break
			}
		}
		got := out.Bytes()
		cf := closeFrame(masked)
		if len(got) != want+len(cf) || !bytes.Equal(got[:want], stream[:want]) {
			t.Fatalf("round %d: shutdown at %d of %d (boundaries %v): wrote %d bytes, want %d + close frame", round, at, len(stream), ends, len(got), want)
		}
		tail := got[want:]
		if tail[0] != 0x88 || (tail[1]&0x80 != 0) != masked || int(tail[1]&0x7f) != len(goingAwayReason) {
			t.Fatalf("round %d: close frame % x", round, tail)
		}
		p := tail[2:]
		if masked {
			key := p[:4]
			p = append([]byte(nil), p[4:]...)
			for i := range p {
				p[i] ^= key[i%4]
			}
		}
		if string(p) != goingAwayReason || binary.BigEndian.Uint16(p) != 1001 {
			t.Fatalf("round %d: close payload %q", round, p)
		}
	}
}

// FuzzFrameTracker: following a byte stream in any two pieces ends in
// the same state as following it whole, and consume never takes more
// than it is given.
func FuzzFrameTracker(f *testing.F) {
	rng := rand.New(rand.NewSource(2))
	f.Add(append(frame(rng, 5, true), frame(rng, 130, false)...), 3)
	f.Add(frame(rng, 70000, true)[:40], 11)
	f.Add([]byte{0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 5)
	f.Fuzz(func(t *testing.T, b []byte, cut int) {
		if cut < 0 || cut > len(b) {
			cut = len(b) / 2
		}
		var whole, parts frameTracker
		if n := whole.consume(b, false); n != len(b) {
			t.Fatalf("consumed %d of %d", n, len(b))
		}
		parts.consume(b[:cut], false)
		parts.consume(b[cut:], false)
		if whole != parts {
			t.Fatalf("whole %+v, in parts %+v", whole, parts)
		}
		var s frameTracker
		for off := 0; off < len(b); {
			n := s.consume(b[off:], true)
			if n < 0 || off+n > len(b) {
				t.Fatalf("stop-consume took %d at %d of %d", n, off, len(b))
			}
			if n == 0 {
				if !s.boundary() {
					t.Fatal("stopped outside a boundary")
				}
				n = s.consume(b[off:off+1], false)
			}
			off += n
		}
	})
}

// BenchmarkWSDirWrite: what following frame boundaries adds to each write
// of the splice (32 KiB chunks of 1 KiB frames), against writing directly.
func BenchmarkWSDirWrite(b *testing.B) {
	rng := rand.New(rand.NewSource(3))
	var stream []byte
	for len(stream) < 32<<10 {
		stream = append(stream, frame(rng, 1024, true)...)
	}
	stream = stream[:32<<10]
	b.Run("direct", func(b *testing.B) {
		b.SetBytes(int64(len(stream)))
		b.ReportAllocs()
		for b.Loop() {
			_, _ = io.Discard.Write(stream)
		}
	})
	b.Run("wsDir", func(b *testing.B) {
		d := &wsDir{w: io.Discard, mask: true}
		b.SetBytes(int64(len(stream)))
		b.ReportAllocs()
		for b.Loop() {
			_, _ = d.write(stream)
		}
	})
}
