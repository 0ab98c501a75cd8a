package main

import (
	"crypto/rand"
	"log/slog"
	"net"
	"strconv"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/portal/console"
)

// newConsoleTracer makes the console trace tracer with a fresh random key:
// the key lives only in this process (tokens live 60 s and are checked by
// the gateway of the process that minted them), so it is never stored.
func newConsoleTracer() (*gateway.Tracer, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return gateway.NewTracer(key)
}

// newConsole builds the developer portal console's relay: it reads the
// catalog, sends calls to the gateway listening at gatewayAddr (dialled
// over loopback when it listens on every interface), shows publicURL in
// code samples and gets traces from tracer (nil: no traces).
func newConsole(st catalog.Store, gatewayAddr net.Addr, publicURL string, tracer *gateway.Tracer, log *slog.Logger) (*console.Console, error) {
	o := console.Options{Store: st, GatewayURL: "http://" + loopbackAddr(gatewayAddr), PublicGatewayURL: publicURL, Logger: log}
	if tracer != nil {
		o.Tracer = tracer
	}
	return console.New(o)
}

// loopbackAddr is addr with an unspecified IP (0.0.0.0, ::) replaced by
// the loopback address of its family.
func loopbackAddr(addr net.Addr) string {
	ta, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	ip := ta.IP
	switch {
	case ip == nil || ip.IsUnspecified() && ip.To4() != nil:
		ip = net.IPv4(127, 0, 0, 1)
	case ip.IsUnspecified():
		ip = net.IPv6loopback
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(ta.Port))
}
