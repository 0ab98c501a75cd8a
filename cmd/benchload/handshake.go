package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The handshake load generator (`benchload handshaker`): new TCP
// connections, each closed right after its TLS handshake, from a fixed
// number of goroutines for a fixed time. It runs as a process of its own so
// that it can be pinned to the generator core; the tls mode reads its JSON
// result from stdout and the servers' CPU time from /proc around it.
//
// Full handshakes: the client keeps no session, so every connection does
// the whole key exchange and the server signs with its key. Resumed: one
// priming connection reads a session ticket, and every later connection
// offers it (TLS 1.3 PSK with (EC)DHE, the only resumption Go's client
// does); a connection the server did not resume is counted, and more than
// 1 % of them fails the run, since a server that ignores tickets would
// otherwise be measured doing full handshakes under the resumed label.
//
// No ALPN is offered, so the servers take their HTTP/1.1 path after the
// handshake (read the request, see EOF, close): what is measured is the
// handshake and the connection, not HTTP/2's connection setup.

// handshakeResult is what one handshaker run reports.
type handshakeResult struct {
	Handshakes int64         `json:"handshakes"` // completed, in the measured time
	Resumed    int64         `json:"resumed"`    // of those, resumed (DidResume)
	Errors     int64         `json:"errors"`     // dial or handshake failures
	FirstError string        `json:"first_error,omitempty"`
	Seconds    float64       `json:"seconds"`
	Rate       float64       `json:"per_s"`
	P50        time.Duration `json:"p50_ns"` // dial + handshake
	P99        time.Duration `json:"p99_ns"`
	Version    string        `json:"tls_version"` // of the last handshake
	Curve      string        `json:"curve"`       // key exchange of the last handshake
	Cipher     string        `json:"cipher"`
	CPU        time.Duration `json:"generator_cpu_ns"` // filled in by the parent
}

// handshakeOptions are the handshaker's flags.
type handshakeOptions struct {
	addr        string
	sni         string
	fingerprint string // hex SHA-256 of the leaf the server must present
	concurrency int
	duration    time.Duration
	resume      bool
	curve       string
}

// curvePrefs maps the -curve flag to the client's key shares; "" keeps
// Go's defaults (X25519MLKEM768 and X25519 as of Go 1.24).
func curvePrefs(name string) ([]tls.CurveID, error) {
	switch strings.ToLower(name) {
	case "", "default":
		return nil, nil
	case "x25519mlkem768", "mlkem":
		return []tls.CurveID{tls.X25519MLKEM768}, nil
	case "x25519":
		return []tls.CurveID{tls.X25519}, nil
	case "p256", "p-256":
		return []tls.CurveID{tls.CurveP256}, nil
	}
	return nil, usagef("-curve %q: want default, x25519mlkem768, x25519 or p256", name)
}

func parseHandshakeFlags(args []string) (handshakeOptions, error) {
	var o handshakeOptions
	fs := flag.NewFlagSet("handshaker", flag.ContinueOnError)
	fs.StringVar(&o.addr, "addr", "", "TLS server host:port")
	fs.StringVar(&o.sni, "sni", tlsHostname, "server name sent (SNI)")
	fs.StringVar(&o.fingerprint, "fingerprint", "", "hex SHA-256 of the leaf certificate the server must present (empty: any)")
	fs.IntVar(&o.concurrency, "concurrency", 16, "connections in flight")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "how long to run")
	fs.BoolVar(&o.resume, "resume", false, "resume a session (TLS 1.3 ticket) instead of full handshakes")
	fs.StringVar(&o.curve, "curve", "", "client key share: default (Go's), x25519mlkem768, x25519 or p256")
	if err := fs.Parse(args); err != nil {
		return o, flagError(err)
	}
	if fs.NArg() > 0 {
		return o, usagef("handshaker: unexpected arguments %q", fs.Args())
	}
	if o.addr == "" {
		return o, usagef("handshaker: -addr is required")
	}
	if o.concurrency < 1 || o.duration <= 0 {
		return o, usagef("handshaker: need -concurrency ≥ 1 and -duration > 0")
	}
	if _, err := curvePrefs(o.curve); err != nil {
		return o, err
	}
	return o, nil
}

// runHandshaker is the `handshaker` mode: it prints a handshakeResult as
// JSON on stdout.
func runHandshaker(args []string) error {
	o, err := parseHandshakeFlags(args)
	if err != nil {
		return err
	}
	res, err := handshakeLoad(context.Background(), o)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// ticketCache is a one-entry client session cache that counts the tickets
// it was given, so that priming can tell a ticket arrived.
type ticketCache struct {
	tls.ClientSessionCache
	puts atomic.Int64
}

func (c *ticketCache) Put(key string, cs *tls.ClientSessionState) {
	if cs != nil {
		c.puts.Add(1)
	}
	c.ClientSessionCache.Put(key, cs)
}

// handshakeLoad runs the load described by o and returns its result. It
// fails when every handshake failed, when the server presented another
// certificate, when priming got no ticket, or (resume) when more than 1 %
// of the handshakes were not resumed.
func handshakeLoad(ctx context.Context, o handshakeOptions) (handshakeResult, error) {
	var res handshakeResult
	curves, err := curvePrefs(o.curve)
	if err != nil {
		return res, err
	}
	cfg := &tls.Config{
		ServerName:       o.sni,
		CurvePreferences: curves,
		// The chain is not verified (the generator's CPU would go to x509
		// rather than load), but the leaf must be the benchmark's: a
		// wrong listener must not pass for a fast one.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if o.fingerprint == "" {
				return nil
			}
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the server presented no certificate")
			}
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if got := hex.EncodeToString(sum[:]); got != o.fingerprint {
				return fmt.Errorf("the server presented certificate %s…, want %s…", got[:16], o.fingerprint[:min(16, len(o.fingerprint))])
			}
			return nil
		},
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if o.resume {
		cache := &ticketCache{ClientSessionCache: tls.NewLRUClientSessionCache(1)}
		cfg.ClientSessionCache = cache
		if err := primeTicket(ctx, dialer, cfg, o.addr); err != nil {
			return res, err
		}
		if cache.puts.Load() == 0 {
			return res, errors.New("priming: the server sent no session ticket (resumption disabled?)")
		}
	}

	var (
		mu       sync.Mutex
		lats     []time.Duration
		firstErr string
		last     tls.ConnectionState
		wg       sync.WaitGroup
	)
	var done, resumed, errs atomic.Int64
	start := time.Now()
	deadline := start.Add(o.duration)
	for range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1024)
			var cs tls.ConnectionState
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				c, err := tls.DialWithDialer(dialer, "tcp", o.addr, cfg)
				if err != nil {
					if errs.Add(1) == 1 {
						mu.Lock()
						firstErr = err.Error()
						mu.Unlock()
					}
					// A refused or failing server must not be hammered
					// in a tight loop for the whole duration.
					time.Sleep(10 * time.Millisecond)
					continue
				}
				d := time.Since(t0)
				cs = c.ConnectionState()
				c.Close()
				if time.Now().After(deadline) {
					break // finished after the end: not in the measured time
				}
				local = append(local, d)
				done.Add(1)
				if cs.DidResume {
					resumed.Add(1)
				}
			}
			mu.Lock()
			lats = append(lats, local...)
			if cs.HandshakeComplete {
				last = cs
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lats)
	res = handshakeResult{
		Handshakes: done.Load(), Resumed: resumed.Load(), Errors: errs.Load(), FirstError: firstErr,
		Seconds: elapsed.Seconds(), P50: percentile(lats, 50), P99: percentile(lats, 99),
	}
	res.Rate = float64(res.Handshakes) / o.duration.Seconds()
	if last.HandshakeComplete {
		res.Version = tls.VersionName(last.Version)
		res.Curve = last.CurveID.String()
		res.Cipher = tls.CipherSuiteName(last.CipherSuite)
	}
	switch {
	case res.Handshakes == 0:
		return res, fmt.Errorf("no handshake completed with %s (%d errors; first: %s)", o.addr, res.Errors, res.FirstError)
	case o.resume && res.Handshakes-res.Resumed > res.Handshakes/100:
		return res, fmt.Errorf("%d of %d handshakes with %s were not resumed: the server does not honour its tickets", res.Handshakes-res.Resumed, res.Handshakes, o.addr)
	}
	return res, nil
}

// primeTicket makes one connection and reads from it until the server's
// TLS 1.3 session ticket (a post-handshake message, handled inside Read)
// has reached the cache, or 1 s has passed.
func primeTicket(ctx context.Context, dialer *net.Dialer, cfg *tls.Config, addr string) error {
	c, err := tls.DialWithDialer(dialer, "tcp", addr, cfg)
	if err != nil {
		return fmt.Errorf("priming: %w", err)
	}
	defer c.Close()
	cache := cfg.ClientSessionCache.(*ticketCache)
	end := time.Now().Add(time.Second)
	for cache.puts.Load() == 0 && time.Now().Before(end) && ctx.Err() == nil {
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		var b [1]byte
		if _, err := c.Read(b[:]); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("priming: %w", err)
		}
	}
	return nil
}

// handshakeArgs is the command line of a handshaker child.
func handshakeArgs(o handshakeOptions) []string {
	args := []string{"handshaker", "-addr", o.addr, "-sni", o.sni, "-concurrency", strconv.Itoa(o.concurrency),
		"-duration", o.duration.String(), "-curve", o.curve}
	if o.fingerprint != "" {
		args = append(args, "-fingerprint", o.fingerprint)
	}
	if o.resume {
		args = append(args, "-resume")
	}
	return args
}

// runHandshakeGen runs a handshaker child of self (pinned to the generator
// core when pin is set) and returns its result, with its CPU time.
func runHandshakeGen(ctx context.Context, pin bool, self string, o handshakeOptions) (handshakeResult, error) {
	argv := append([]string{self}, handshakeArgs(o)...)
	if pin {
		argv = append([]string{"taskset", "-c", generatorCPU}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = 2 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return handshakeResult{}, fmt.Errorf("handshaker: %v\n%s", err, stderr.String())
	}
	var res handshakeResult
	if err := json.Unmarshal(out, &res); err != nil {
		return res, fmt.Errorf("handshaker: output %q: %v", out, err)
	}
	res.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return res, nil
}
