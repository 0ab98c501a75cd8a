package analytics

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// Latency histogram: fixed log-spaced buckets, identical in every rollup
// row, so histograms of any rows merge by adding counts and percentiles of
// the merged histogram are exact to within one bucket.
//
// Bucket i (0 ≤ i < histBounds) counts latencies d with
// bound[i-1] < d ≤ bound[i], bound[0] = 100µs and bound[histBounds-1] =
// 60s, each bound about 1.41× the previous; bucket histBounds counts
// latencies above 60s.
const (
	histBounds  = 40
	histBuckets = histBounds + 1
	histMin     = 100 * time.Microsecond
	histMax     = 60 * time.Second
)

var (
	bounds    [histBounds]time.Duration
	logMin    = math.Log(float64(histMin))
	logFactor float64
)

func init() {
	logFactor = (math.Log(float64(histMax)) - logMin) / float64(histBounds-1)
	for i := range bounds {
		bounds[i] = time.Duration(math.Round(math.Exp(logMin + float64(i)*logFactor)))
	}
	bounds[histBounds-1] = histMax
}

// BucketBounds returns the upper bounds of the latency histogram buckets
// (the last bucket, above the last bound, is open).
func BucketBounds() []time.Duration { return append([]time.Duration(nil), bounds[:]...) }

type hist [histBuckets]int64

// bucketOf returns the bucket index of d: the first bound ≥ d, found by
// binary search (the writer calls it per record; a logarithm cost more).
func bucketOf(d time.Duration) int {
	if d <= histMin {
		return 0
	}
	if d > histMax {
		return histBounds
	}
	lo, hi := 1, histBounds-1 // bounds[0] < d ≤ bounds[histBounds-1]
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if d <= bounds[m] {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

func (h *hist) add(d time.Duration) { h[bucketOf(d)]++ }

func (h *hist) merge(o *hist) {
	for i := range h {
		h[i] += o[i]
	}
}

func (h *hist) total() int64 {
	var n int64
	for _, c := range h {
		n += c
	}
	return n
}

// quantile estimates the q-quantile (nearest rank) from the histogram,
// 0 when it is empty. The rank's bucket is known exactly; within it the
// value is interpolated log-linearly between the bucket's bounds by the
// rank's position among the bucket's counts (linearly from 0 in the first
// bucket), so the estimate always lies in the bucket holding the exact
// value. The open last bucket answers 60s.
func (h *hist) quantile(q float64) time.Duration {
	n := h.total()
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(n)))
	if rank < 1 {
		rank = 1
	}
	var c int64
	for i, v := range h {
		if c+v < rank {
			c += v
			continue
		}
		if i >= histBounds {
			return histMax
		}
		f := float64(rank-c) / float64(v) // in (0, 1]
		hi := bounds[i]
		if i == 0 {
			return max(time.Duration(f*float64(hi)), 1)
		}
		lo := bounds[i-1]
		d := time.Duration(float64(lo) * math.Pow(float64(hi)/float64(lo), f))
		return min(max(d, lo+1), hi)
	}
	return histMax
}

// encode writes h sparsely: uvarint pairs (bucket index, count) for the
// non-empty buckets.
func (h *hist) encode(dst []byte) []byte {
	for i, c := range h {
		if c != 0 {
			dst = binary.AppendUvarint(dst, uint64(i))
			dst = binary.AppendUvarint(dst, uint64(c))
		}
	}
	return dst
}

var errBadHist = errors.New("analytics: corrupt rollup figures")

// decodeAdd adds the encoded histogram b to h.
func (h *hist) decodeAdd(b []byte) error {
	for len(b) > 0 {
		i, n := binary.Uvarint(b)
		if n <= 0 || i >= histBuckets {
			return errBadHist
		}
		b = b[n:]
		c, n := binary.Uvarint(b)
		if n <= 0 {
			return errBadHist
		}
		b = b[n:]
		h[i] += int64(c)
	}
	return nil
}

// encode writes the figures of a rollup row as one blob (one column to
// read per row keeps long scans cheap): uvarints calls, 4xx errors, 5xx
// errors, bytes in, bytes out, cache hits, then the sparse histogram.
func (a *agg) encode(dst []byte) []byte {
	for _, v := range [...]int64{a.calls, a.err4xx, a.err5xx, a.bytesIn, a.bytesOut, a.cacheHits} {
		dst = binary.AppendUvarint(dst, uint64(max(v, 0)))
	}
	return a.h.encode(dst)
}

// decodeAdd adds the encoded figures b to a.
func (a *agg) decodeAdd(b []byte) error {
	for _, p := range [...]*int64{&a.calls, &a.err4xx, &a.err5xx, &a.bytesIn, &a.bytesOut, &a.cacheHits} {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return errBadHist
		}
		*p += int64(v)
		b = b[n:]
	}
	return a.h.decodeAdd(b)
}

// aggMergeSQL is the SQL function gh_agg_merge(a, b): the encoding of the
// sum of two encoded rollup figures.
func aggMergeSQL(a, b []byte) ([]byte, error) {
	var x agg
	if err := x.decodeAdd(a); err != nil {
		return nil, err
	}
	if err := x.decodeAdd(b); err != nil {
		return nil, err
	}
	return x.encode(make([]byte, 0, 48)), nil
}
