package analytics

import (
	"bufio"
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// BenchmarkWriterCost measures what the request log costs the process per
// record, as the gateway logs: a producer that yields after every record
// (-cpu 1: the pinned gateway's GOMAXPROCS), the default options, then
// Close. It reports the process CPU per record (user + system, getrusage)
// and the system part, and, from /proc/self/io, the read and write system
// calls and the bytes written per record (the WAL, checkpoints): counts
// that load on the machine does not change. Cases:
//
//   - gateway: what `benchload run`'s gw-4 target logs — one API,
//     operation, subscription and client, request ids as the gateway makes
//     them, times from Log (now: increasing), status 200.
//   - mixed: genRecord's records (3 APIs × 3 operations × 2 products × 4
//     subscriptions × 2 users, latencies over every histogram bucket, 10
//     statuses), times increasing: 144 rollup rows per level and minute.
//
// Run with a fixed count: -cpu 1 -benchtime 200000x.
func BenchmarkWriterCost(b *testing.B) {
	b.Run("gateway", func(b *testing.B) {
		recs := make([]Record, 4096)
		for i := range recs {
			lat := time.Duration(400+i%700) * time.Microsecond
			recs[i] = Record{RequestID: "9f3a61c2-" + strconv.FormatUint(uint64(1_000_000+i), 36), API: "bench", Operation: "get",
				Subscription: "bench", User: "bench", ClientIP: "127.0.0.1", Method: "GET", Path: "/bench/", Status: 200,
				BackendStatus: 200, Total: lat, Backend: lat - 40*time.Microsecond, Policies: 12 * time.Microsecond, BytesOut: 13}
		}
		writerCost(b, recs, false)
	})
	b.Run("mixed", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(9, 10))
		recs := make([]Record, 4096)
		for i := range recs {
			recs[i] = genRecord(rng, time.Time{}, i) // zero time: now, at Log
		}
		writerCost(b, recs, false)
	})
}

func writerCost(b *testing.B, recs []Record, _ bool) {
	w, err := OpenWriter(WriterOptions{Path: filepath.Join(b.TempDir(), "logs.db")})
	if err != nil {
		b.Fatal(err)
	}
	var ru0, ru1 syscall.Rusage
	io0 := procIO(b)
	b.ResetTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	for i := 0; i < b.N; i++ {
		for len(w.q) == cap(w.q) {
			time.Sleep(100 * time.Microsecond)
		}
		w.Log(&recs[i%len(recs)])
		runtime.Gosched()
	}
	if err := w.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	b.StopTimer()
	io1 := procIO(b)
	if s := w.Stats(); s.Written != int64(b.N) {
		b.Fatalf("stats %+v, want %d written", s, b.N)
	}
	n := float64(b.N)
	cpu := ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()
	b.ReportMetric(float64(cpu)/1e3/n, "µs-cpu/record")
	b.ReportMetric(float64(ru1.Stime.Nano()-ru0.Stime.Nano())/1e3/n, "µs-sys/record")
	b.ReportMetric(float64(io1["syscr"]+io1["syscw"]-io0["syscr"]-io0["syscw"])/n, "syscalls/record")
	b.ReportMetric(float64(io1["wchar"]-io0["wchar"])/n, "B-written/record")
}

// procIO reads the process's I/O counters (Linux); empty elsewhere.
func procIO(b *testing.B) map[string]int64 {
	m := map[string]int64{}
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return m
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := bytes.Cut(sc.Bytes(), []byte(": "))
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err == nil {
			m[string(k)] = n
		}
	}
	return m
}
