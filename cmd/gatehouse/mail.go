package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
)

// resetMailer sends developer portal password reset links by mail
// (--smtp-addr). net/smtp refuses PLAIN authentication over a connection
// that is neither TLS nor to localhost, so a password never crosses the
// network in clear.
type resetMailer struct {
	addr, from, user, password string
}

func newResetMailer(addr, from, user, password string) (*resetMailer, error) {
	if addr == "" {
		return nil, nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, usageError{fmt.Errorf("--smtp-addr must be host:port: %v", err)}
	}
	a, err := mail.ParseAddress(from)
	if err != nil {
		return nil, usageError{fmt.Errorf("--smtp-from must be a mail address: %v", err)}
	}
	return &resetMailer{addr: addr, from: a.Address, user: user, password: password}, nil
}

// send mails u the reset link.
func (m *resetMailer) send(ctx context.Context, u catalog.User, link string, expires time.Time) error {
	to, err := mail.ParseAddress(u.Email)
	if err != nil {
		return fmt.Errorf("user %s has no valid email address: %v", u.ID, err)
	}
	if strings.ContainsAny(link, "\r\n") {
		return errors.New("reset link contains a line break")
	}
	name := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, u.Name)
	msg := "From: " + m.from + "\r\n" +
		"To: " + to.Address + "\r\n" +
		"Subject: Set your developer portal password\r\n" +
		"Date: " + time.Now().UTC().Format(time.RFC1123Z) + "\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Hello " + name + ",\r\n\r\nan administrator issued a link to set your developer portal password:\r\n\r\n" +
		link + "\r\n\r\nIt works once, until " + expires.UTC().Format("2006-01-02 15:04 UTC") + ".\r\n" +
		"If you did not ask for it, ignore this mail.\r\n"
	var auth smtp.Auth
	if m.user != "" {
		host, _, _ := net.SplitHostPort(m.addr)
		auth = smtp.PlainAuth("", m.user, m.password, host)
	}
	done := make(chan error, 1)
	go func() { done <- smtp.SendMail(m.addr, auth, m.from, []string{to.Address}, []byte(msg)) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(20 * time.Second):
		return errors.New("smtp: no answer within 20 s")
	}
}
