package engine

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// guestLog routes a module's stdout, stderr and log host calls to the
// gateway log under the module's name, at most rate lines per second; the
// rest are counted and reported once the next second starts.
type guestLog struct {
	log    *slog.Logger
	module string
	rate   int

	mu         sync.Mutex
	windowAt   time.Time
	inWindow   int
	suppressed int
}

func newGuestLog(l *slog.Logger, module string, rate int) *guestLog {
	return &guestLog{log: l, module: module, rate: rate}
}

// allow reports whether one more line may be logged now.
func (g *guestLog) allow() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	if now.Sub(g.windowAt) >= time.Second {
		if g.suppressed > 0 {
			g.log.Warn("guest log lines suppressed", "module", g.module, "lines", g.suppressed)
		}
		g.windowAt, g.inWindow, g.suppressed = now, 0, 0
	}
	if g.inWindow >= g.rate {
		g.suppressed++
		return false
	}
	g.inWindow++
	return true
}

func (g *guestLog) line(level slog.Level, stream, msg, reqID string) {
	if !g.allow() {
		return
	}
	if reqID != "" {
		g.log.Log(context.Background(), level, msg, "module", g.module, "stream", stream, "request_id", reqID)
		return
	}
	g.log.Log(context.Background(), level, msg, "module", g.module, "stream", stream)
}

// writer returns an io.Writer for a WASI stream: output is split into lines,
// each line capped at 4 KiB.
func (g *guestLog) writer(stream string) io.Writer {
	return &lineWriter{g: g, stream: stream}
}

type lineWriter struct {
	g      *guestLog
	stream string
	mu     sync.Mutex
	buf    []byte
}

const maxGuestLine = 4 << 10

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := maxGuestLine - len(w.buf)
			if room > 0 {
				w.buf = append(w.buf, p[:min(room, len(p))]...)
			}
			break
		}
		room := maxGuestLine - len(w.buf)
		w.buf = append(w.buf, p[:min(room, i)]...)
		level := slog.LevelInfo
		if w.stream == "stderr" {
			level = slog.LevelWarn
		}
		w.g.line(level, w.stream, string(w.buf), "")
		w.buf = w.buf[:0]
		p = p[i+1:]
	}
	return n, nil
}
