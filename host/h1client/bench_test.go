package h1client_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/h1client"
)

func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRoundTrip prices one GET over loopback (a 256-byte answer) with
// net/http's Transport and with h1client, 8 callers at a time; the backend
// runs in the same process, so cpu-ns/op includes its (equal) share. Run
// with -cpu 1 to see the cost on one core, as the gateway runs in the
// load benchmark:
//
//	go test -run '^$' -bench RoundTrip -cpu 1 -benchtime 50000x -count 5 ./host/h1client/
func BenchmarkRoundTrip(b *testing.B) {
	body := make([]byte, 256)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	defer s.Close()
	for _, tc := range []struct {
		name string
		rt   func() http.RoundTripper
	}{
		{"nethttp", func() http.RoundTripper {
			return &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}
		}},
		{"h1client", func() http.RoundTripper {
			return h1client.New(&http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true})
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rt := tc.rt()
			req, _ := http.NewRequest("GET", s.URL+"/x", nil)
			req.Header.Set("User-Agent", "")
			buf := make([]byte, 4096)
			one := func() {
				res, err := rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := res.Body.Read(buf); err != nil {
						break
					}
				}
				res.Body.Close()
			}
			const callers = 8
			for range 200 {
				one()
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU(b)
			var wg sync.WaitGroup
			per := b.N / callers
			for range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range per {
						one()
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			if n := per * callers; n > 0 {
				b.ReportMetric(float64(processCPU(b)-cpu0)/float64(n), "cpu-ns/op")
			}
			if c, ok := rt.(interface{ CloseIdleConnections() }); ok {
				c.CloseIdleConnections()
			}
			_ = io.Discard
		})
	}
}
