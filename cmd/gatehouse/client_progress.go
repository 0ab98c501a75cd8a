package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// terminal returns w as a terminal file, or nil when it is not one: progress
// lines are only drawn on a terminal.
func ttyOf(w io.Writer) *os.File {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return f
}

// progressReader reports bytes read on a terminal line.
type progressReader struct {
	r     io.Reader
	tty   *os.File
	label string
	total int64
	n     int64
	last  time.Time
}

func newProgressReader(r io.Reader, errw io.Writer, label string, total int64) io.Reader {
	tty := ttyOf(errw)
	if tty == nil {
		return r
	}
	return &progressReader{r: r, tty: tty, label: label, total: total}
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond || err != nil {
		p.last = now
		pct := 100
		if p.total > 0 {
			pct = int(p.n * 100 / p.total)
		}
		fmt.Fprintf(p.tty, "\r%s: %s / %s (%d%%)\033[K", p.label, mib(p.n), mib(p.total), pct)
		if err == io.EOF || p.n >= p.total {
			fmt.Fprint(p.tty, "\r\033[K")
		}
	}
	return n, err
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// spinner shows label and the elapsed time on a terminal until stop is
// called; it draws nothing for the first half second.
func spinner(errw io.Writer, label string) (stop func()) {
	tty := ttyOf(errw)
	if tty == nil {
		return func() {}
	}
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		drawn := false
		for {
			select {
			case <-done:
				if drawn {
					fmt.Fprint(tty, "\r\033[K")
				}
				return
			case now := <-t.C:
				if el := now.Sub(start); el >= 500*time.Millisecond {
					fmt.Fprintf(tty, "\r%s… %.0fs\033[K", label, el.Seconds())
					drawn = true
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
