package main

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
)

// smtpSink is a minimal SMTP server on loopback that keeps what it
// receives.
func smtpSink(t *testing.T) (addr string, got <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		say := func(s string) { c.Write([]byte(s + "\r\n")) }
		say("220 sink")
		var b strings.Builder
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			cmd := strings.ToUpper(strings.TrimSpace(line))
			switch {
			case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
				say("250 sink")
			case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"):
				b.WriteString(strings.TrimSpace(line) + "\n")
				say("250 ok")
			case cmd == "DATA":
				say("354 go on")
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if l == ".\r\n" {
						break
					}
					b.WriteString(l)
				}
				say("250 queued")
			case cmd == "QUIT":
				say("221 bye")
				ch <- b.String()
				return
			default:
				say("502 no")
			}
		}
	}()
	return ln.Addr().String(), ch
}

func TestResetMailer(t *testing.T) {
	addr, got := smtpSink(t)
	m, err := newResetMailer(addr, "portal@example.com", "", "")
	if err != nil {
		t.Fatal(err)
	}
	u := catalog.User{ID: "u1", Email: "dev@example.com", Name: "Dev\r\nBcc: evil@example.com"}
	link := "http://portal.example/reset?token=abc"
	if err := m.send(context.Background(), u, link, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	select {
	case msg := <-got:
		for _, want := range []string{"MAIL FROM:<portal@example.com>", "RCPT TO:<dev@example.com>", "To: dev@example.com", link, "Hello DevBcc: evil@example.com,"} {
			if !strings.Contains(msg, want) {
				t.Errorf("mail lacks %q:\n%s", want, msg)
			}
		}
		if strings.Contains(msg, "\nBcc:") {
			t.Errorf("a name injected a header:\n%s", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no mail")
	}
	for _, bad := range [][2]string{{"no-port", "a@example.com"}, {"127.0.0.1:25", "not an address"}} {
		if _, err := newResetMailer(bad[0], bad[1], "", ""); err == nil {
			t.Errorf("newResetMailer(%q, %q) accepted", bad[0], bad[1])
		}
	}
	if m, err := newResetMailer("", "x", "", ""); m != nil || err != nil {
		t.Errorf("no --smtp-addr: %v %v", m, err)
	}
	// A server that does not answer makes send fail, not hang.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	m2, _ := newResetMailer(ln.Addr().String(), "portal@example.com", "", "")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := m2.send(ctx, u, link, time.Now()); err == nil {
		t.Error("send to a silent server succeeded")
	}
}
