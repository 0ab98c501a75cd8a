package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The testdata/h2load-*.txt files are real outputs of h2load 1.52.0
// (Debian's nghttp2-client) against the baretls mode and a gateway;
// h2load-requests.log is the first 200 lines of a real --log-file.

func TestParseH2loadSamples(t *testing.T) {
	cases := []struct {
		file                        string
		requests, succeeded, failed int64
		non2xx                      int64
		seconds, rps                float64
		mean                        time.Duration
	}{
		{"h2load-bare.txt", 15214, 15214, 0, 0, 2.01, 7607.00, 3920 * time.Microsecond},
		{"h2load-404.txt", 8256, 0, 8256, 8256, 1.01, 8256.00, 883 * time.Microsecond},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			r, err := parseH2load(readSample(t, c.file))
			if err != nil {
				t.Fatal(err)
			}
			if r.Requests != c.requests || r.Succeeded != c.succeeded || r.Failed != c.failed || r.Non2xx != c.non2xx {
				t.Errorf("requests %d succeeded %d failed %d non2xx %d, want %d %d %d %d",
					r.Requests, r.Succeeded, r.Failed, r.Non2xx, c.requests, c.succeeded, c.failed, c.non2xx)
			}
			if r.Seconds != c.seconds || r.RPS != c.rps || r.Mean != c.mean {
				t.Errorf("seconds %v rps %v mean %v, want %v %v %v", r.Seconds, r.RPS, r.Mean, c.seconds, c.rps, c.mean)
			}
			if r.Protocol != "h2" {
				t.Errorf("protocol %q", r.Protocol)
			}
			want := "TLS Protocol: TLSv1.3; Cipher: TLS_AES_128_GCM_SHA256; Server Temp Key: X25519 253 bits"
			if r.TLS != want {
				t.Errorf("TLS %q, want %q", r.TLS, want)
			}
		})
	}
}

// Output that must not pass for a measurement.
func TestParseH2loadRefuses(t *testing.T) {
	cases := []struct{ name, out, want string }{
		{"HTTP/1.1 negotiated", readSample(t, "h2load-h1.txt"), `application protocol "http/1.1", want h2`},
		{"connection refused", readSample(t, "h2load-refused.txt"), "no request done"},
		{"empty", "", `no "finished in"`},
		{"garbage", "hello\nworld\n", `no "finished in"`},
		{"truncated after finished", "finished in 2.00s, 10.00 req/s, 1KB/s\n", `no "finished in" or "requests:"`},
		{"bad number", strings.Replace(readSample(t, "h2load-bare.txt"), "15214 done", "x done", 1), "requests line"},
		{"bad time", strings.Replace(readSample(t, "h2load-bare.txt"), "finished in 2.01s", "finished in 2.01", 1), "no unit"},
		{"odd status line", strings.Replace(readSample(t, "h2load-bare.txt"), "15218 2xx", "15218", 1), "odd status line"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseH2load(c.out)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestParseH2loadLog(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "h2load-requests.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lat, err := parseH2loadLog(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(lat) != 200 || !slices.IsSorted(lat) {
		t.Fatalf("%d durations, sorted %v", len(lat), slices.IsSorted(lat))
	}
	// The first line of the file is "1796516251828931\t200\t24346".
	if !slices.Contains(lat, 24346*time.Microsecond) {
		t.Errorf("24346µs of the first line missing")
	}
	if p50, p99 := percentile(lat, 50), percentile(lat, 99); p50 <= 0 || p99 < p50 || p99 > lat[len(lat)-1] {
		t.Errorf("p50 %v p99 %v max %v", p50, p99, lat[len(lat)-1])
	}

	for _, bad := range []string{"1\t200\n", "1\t200\tx\n", "1\t200\t-5\n", "1 200 5\n", "1\t200\t5\t6\n"} {
		if _, err := parseH2loadLog(strings.NewReader("1\t200\t7\n" + bad)); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%q: err %v, want one naming line 2", bad, err)
		}
	}
	lat, err = parseH2loadLog(strings.NewReader(""))
	if err != nil || len(lat) != 0 {
		t.Errorf("empty log: %v %v", lat, err)
	}
}

func TestPercentile(t *testing.T) {
	var xs []time.Duration
	for i := 1; i <= 100; i++ {
		xs = append(xs, time.Duration(i))
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50}, {99, 99}, {100, 100}, {1, 1}, {0, 1}} {
		if got := percentile(xs, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("empty: %v", got)
	}
	if got := percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("one: %v", got)
	}
}

func TestH2loadArgs(t *testing.T) {
	got := h2loadArgs(4, 8, 2400*time.Millisecond, []string{"K: v", ""}, "/tmp/l.log", "https://127.0.0.1:1/")
	want := []string{"-t1", "-c4", "-m8", "-D2", "-H", "K: v", "--log-file=/tmp/l.log", "https://127.0.0.1:1/"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := h2loadArgs(1, 1, 100*time.Millisecond, nil, "", "u"); !slices.Equal(got, []string{"-t1", "-c1", "-m1", "-D1", "u"}) {
		t.Errorf("sub-second duration: %q", got)
	}
}
