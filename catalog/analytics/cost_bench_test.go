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
// that load on the machine does not change; and the longest batch
// transaction (a checkpoint runs inside the commit that fills the WAL),
// the writer's longest stall of a shared core. Cases:
//
//   - gateway: what `benchload run`'s gw-4 target logs — one API,
//     operation, subscription and client, request ids as the gateway makes
//     them, times from Log (now: increasing), status 200.
//   - mixed: genRecord's records (3 APIs × 3 operations × 2 products × 4
//     subscriptions × 2 users, latencies over every histogram bucket, 10
//     statuses), times increasing: 144 rollup rows per level and minute.
//   - subscriptions: mixed's, with 2000 subscriptions instead of 4
//     ($GATEHOUSE_BENCH_SUBSCRIPTIONS to change it): many
//     rollup rows rewritten per batch (the current minute's, hour's and
//     day's), as a gateway with many active subscribers writes.
//   - cyclic: the records of BenchmarkWriterCPU and BenchmarkWriterCPUPaced
//     — mixed's, but with fixed times that repeat every 4096 records (4
//     seconds), so every batch inserts all over the requests(ts) index,
//     which no gateway does (its times increase).
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
	nsubs := 2000
	if v, err := strconv.Atoi(os.Getenv("GATEHOUSE_BENCH_SUBSCRIPTIONS")); err == nil && v > 0 {
		nsubs = v
	}
	b.Run("subscriptions", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(11, 12))
		recs := make([]Record, 4096)
		for i := range recs {
			recs[i] = genRecord(rng, time.Time{}, i)
			recs[i].Subscription = "sub-" + strconv.Itoa(rng.IntN(nsubs))
		}
		writerCost(b, recs, false)
	})
	b.Run("cyclic", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(9, 10))
		now := time.Now()
		recs := make([]Record, 4096)
		for i := range recs {
			recs[i] = genRecord(rng, now.Add(time.Duration(i)*time.Millisecond), i)
		}
		writerCost(b, recs, false)
	})
}

func writerCost(b *testing.B, recs []Record, _ bool) {
	w, err := OpenWriter(WriterOptions{Path: filepath.Join(b.TempDir(), "logs.db")})
	if err != nil {
		b.Fatal(err)
	}
	io0 := procIO(b)
	b.ResetTimer()
	ru0, ru1 := feedPaced(b, w, recs)
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
	b.ReportMetric(float64(w.maxWrite.Load())/1e6, "ms-longest-batch")
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

// BenchmarkCheckpointCPU measures the CPU time (user + system, of the
// thread running it) of one checkpoint of a WAL of about N pages of the
// writer's raw rows, the burst the commit that fills the WAL runs on the
// gateway's core. Run it with -benchtime 1x.
func BenchmarkCheckpointCPU(b *testing.B) {
	for _, pages := range []int{1000, 2000, 10000} {
		b.Run(strconv.Itoa(pages), func(b *testing.B) {
			var cpu, wall time.Duration
			for range b.N {
				c, wl := checkpointCost(b, pages)
				cpu += c
				wall += wl
			}
			b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(b.N), "ms-cpu/checkpoint")
			b.ReportMetric(float64(wall.Microseconds())/1e3/float64(b.N), "ms-wall/checkpoint")
		})
	}
}

func checkpointCost(b *testing.B, pages int) (cpu, wall time.Duration) {
	b.StopTimer()
	w, err := openWriter(WriterOptions{Path: filepath.Join(b.TempDir(), "logs.db"), FlushInterval: time.Hour}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close(context.Background())
	ctx := context.Background()
	if _, err := w.w.ExecContext(ctx, "PRAGMA wal_autocheckpoint=0"); err != nil {
		b.Fatal(err)
	}
	batch := make([]queued, 4096)
	now := time.Now()
	var k, frames, busy, done int
	for frames < pages {
		for i := range batch {
			k++
			batch[i].r = Record{Time: now.Add(time.Duration(k) * 100 * time.Microsecond), RequestID: "9f3a61c2-" + strconv.Itoa(k),
				API: "bench", Operation: "get", Subscription: "bench", User: "bench", ClientIP: "127.0.0.1", Method: "GET",
				Path: "/bench/", Status: 200, BackendStatus: 200, Total: time.Millisecond}
		}
		w.flush(batch)
		if err := w.w.QueryRowContext(ctx, "PRAGMA wal_checkpoint(NOOP)").Scan(&busy, &frames, &done); err != nil {
			b.Fatal(err)
		}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.StartTimer()
	c0, t0 := threadCPU(b), time.Now()
	if err := w.w.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &done); err != nil {
		b.Fatal(err)
	}
	cpu, wall = threadCPU(b)-c0, time.Since(t0)
	b.StopTimer()
	if done != frames {
		b.Fatalf("checkpointed %d of %d frames", done, frames)
	}
	return cpu, wall
}

// threadCPU is the calling thread's CPU time (Linux RUSAGE_THREAD).
func threadCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1, &ru); err != nil { // RUSAGE_THREAD
		b.Skip("no per-thread CPU time:", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLog measures Log alone, as the gateway calls it once per
// request (the record's Time set): the request path's share of the log.
// The writer is idle (hourly ticks, batches larger than the queue, and the
// benchmark drains the queue itself, outside the timer, before a kick).
func BenchmarkLog(b *testing.B) {
	w, err := openWriter(WriterOptions{Path: filepath.Join(b.TempDir(), "logs.db"), QueueSize: 1 << 14,
		BatchSize: 1 << 15, FlushInterval: time.Hour}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close(context.Background())
	r := Record{Time: time.Now(), RequestID: "9f3a61c2-lfls", API: "bench", Operation: "get", Subscription: "bench",
		User: "bench", ClientIP: "127.0.0.1", Method: "GET", Path: "/bench/", Status: 200, BackendStatus: 200,
		Total: time.Millisecond, Backend: 900 * time.Microsecond, Policies: 12 * time.Microsecond}
	b.ReportAllocs()
	for b.Loop() {
		if w.q.len() >= w.kickAt-1 {
			b.StopTimer()
			got := w.q.take(nil)
			clear(got)
			w.q.take(got) // back as the buffer Log appends to, as the writer does
			b.StartTimer()
		}
		w.Log(&r)
	}
}
