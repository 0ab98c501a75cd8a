package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/oasimport"
)

// Flags of `api create`, `api update` and `api import` for an API's transport settings
// (docs/tls.md "Catalog APIs"): backendProtocol, backendTls,
// clientCertificate and websocket. Each flag sets one field of those
// objects and leaves the others as they are; an empty value ("") clears
// its field, and an object left without fields is dropped. PEM fields are
// read from files. Every value is checked by the admin API, whose 400
// (naming the field) is what the user sees.

// transportField is one transport flag: the object it belongs to (""
// for a top-level field), the JSON field, and whether its value is a file
// whose contents are sent.
type transportField struct {
	flag, object, field string
	file                bool
}

var transportFields = []transportField{
	{flag: "backend-protocol", field: "backendProtocol"},
	{flag: "backend-ca", object: "backendTls", field: "caPem", file: true},
	{flag: "backend-client-cert", object: "backendTls", field: "clientCertPem", file: true},
	{flag: "backend-client-key-named-value", object: "backendTls", field: "clientKeyNamedValue"},
	{flag: "backend-server-name", object: "backendTls", field: "serverName"},
	{flag: "backend-tls-min-version", object: "backendTls", field: "minVersion"},
	{flag: "client-ca", object: "clientCertificate", field: "caPem", file: true},
	{flag: "client-thumbprint", object: "clientCertificate", field: "thumbprints"},
	{flag: "ws-idle-timeout", object: "websocket", field: "idleTimeout"},
	{flag: "ws-max-duration", object: "websocket", field: "maxDuration"},
}

// transportClears are the flags that drop a whole object.
var transportClears = map[string]string{"no-backend-tls": "backendTls", "no-client-certificate": "clientCertificate", "no-websocket-limits": "websocket"}

func transportFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "backend-protocol", Usage: "http1 (default), h2 (HTTP/2 over TLS), h2c (HTTP/2 without TLS) or grpc (h2 for gRPC; https backends)"},
		&cli.StringFlag{Name: "backend-ca", Usage: "PEM `FILE` of the CAs that may sign the backend's certificate (replaces the system roots; https backends)"},
		&cli.StringFlag{Name: "backend-client-cert", Usage: "PEM `FILE` of the client certificate chain presented to the backend (mTLS); with --backend-client-key-named-value"},
		&cli.StringFlag{Name: "backend-client-key-named-value", Usage: "`NAME` of the secret named value holding the client certificate's PEM key (the key never goes in a flag)"},
		&cli.StringFlag{Name: "backend-server-name", Usage: "host `NAME` sent as SNI and verified instead of the backend URL's host"},
		&cli.StringFlag{Name: "backend-tls-min-version", Usage: "minimum TLS version towards the backend: 1.2 (default) or 1.3"},
		&cli.BoolFlag{Name: "no-backend-tls", Usage: "remove every backend TLS setting"},
		&cli.StringFlag{Name: "client-ca", Usage: "PEM `FILE` of the CAs callers' client certificates must chain to (makes a client certificate required)"},
		&cli.StringSliceFlag{Name: "client-thumbprint", Usage: "SHA-256 fingerprint (64 hex digits) of an accepted caller certificate (repeat; replaces the list)"},
		&cli.BoolFlag{Name: "no-client-certificate", Usage: "remove the client-certificate requirement"},
		&cli.StringFlag{Name: "ws-idle-timeout", Usage: "close a WebSocket idle this long, e.g. 90s (1s–24h; default 2m)"},
		&cli.StringFlag{Name: "ws-max-duration", Usage: "close a WebSocket open this long, e.g. 2h (1s–168h; default 1h)"},
		&cli.BoolFlag{Name: "no-websocket-limits", Usage: "back to the default WebSocket limits"},
	}
}

// checkTransportFlags refuses a --no-… flag given with a flag of the
// object it removes (a usage error), and reports whether any transport
// flag is given.
func checkTransportFlags(c *cli.Context) (given bool, err error) {
	for flag, obj := range transportClears {
		if !c.Bool(flag) {
			continue
		}
		given = true
		for _, f := range transportFields {
			if f.object == obj && c.IsSet(f.flag) {
				return true, usageError{fmt.Errorf("--%s and --%s contradict each other", flag, f.flag)}
			}
		}
	}
	for _, f := range transportFields {
		given = given || c.IsSet(f.flag)
	}
	return given, nil
}

// applyTransportFlags changes body (an API's JSON object: empty for a
// create, the stored API for an update) as the transport flags say.
func applyTransportFlags(c *cli.Context, body map[string]any) error {
	if _, err := checkTransportFlags(c); err != nil {
		return err
	}
	for flag, obj := range transportClears {
		if c.Bool(flag) {
			delete(body, obj)
		}
	}
	for _, f := range transportFields {
		if !c.IsSet(f.flag) {
			continue
		}
		var v any
		switch {
		case f.flag == "client-thumbprint":
			var list []string
			for _, s := range c.StringSlice(f.flag) {
				if s = strings.TrimSpace(s); s != "" {
					list = append(list, s)
				}
			}
			if len(list) > 0 {
				v = list
			}
		case f.file && c.String(f.flag) != "":
			s, err := readPEMFile(f.flag, c.String(f.flag))
			if err != nil {
				return err
			}
			v = s
		default:
			if s := c.String(f.flag); s != "" {
				v = s
			}
		}
		if f.object == "" {
			setOrClear(body, f.field, v)
			continue
		}
		obj, _ := body[f.object].(map[string]any)
		if obj == nil {
			obj = map[string]any{}
		}
		setOrClear(obj, f.field, v)
		if len(obj) == 0 {
			delete(body, f.object)
		} else {
			body[f.object] = obj
		}
	}
	return nil
}

func setOrClear(m map[string]any, k string, v any) {
	if v == nil {
		delete(m, k)
	} else {
		m[k] = v
	}
}

// readPEMFile reads a PEM file given to a transport flag, up to the
// admin API's limit of one PEM field; what is in it is the admin API's to
// judge.
func readPEMFile(flag, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("--%s: %w", flag, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, catalog.MaxTransportPEM+1))
	if err != nil {
		return "", fmt.Errorf("--%s: %w", flag, err)
	}
	if len(b) > catalog.MaxTransportPEM {
		return "", fmt.Errorf("--%s: %s is larger than %d KiB: not a PEM certificate bundle", flag, path, catalog.MaxTransportPEM>>10)
	}
	return string(b), nil
}

// getAPIObject reads an API as a JSON object.
func getAPIObject(cl *adminClient, id string) (map[string]any, error) {
	raw, err := cl.call("GET", "/apis/"+pathSeg(id), nil, nil)
	if err != nil {
		return nil, err
	}
	v, err := decodeGeneric(raw)
	if err != nil {
		return nil, err
	}
	body, _ := v.(map[string]any)
	if body == nil {
		return nil, fmt.Errorf("the admin API answered %q, not an API", clip(string(raw), 80))
	}
	return body, nil
}

// apiUpdate reads the API, changes the fields the flags name (transport
// settings included) and writes it back.
func apiUpdate(e *cmdEnv) error {
	if err := e.want(1, 1); err != nil {
		return err
	}
	cl, err := e.client()
	if err != nil {
		return err
	}
	path := "/apis/" + pathSeg(e.args[0])
	body, err := getAPIObject(cl, e.args[0])
	if err != nil {
		return err
	}
	delete(body, "openApiDoc") // absent keeps the stored document
	setFlags(e.c, body, apiFields)
	if err := applyTransportFlags(e.c, body); err != nil {
		return err
	}
	raw, err := cl.call("PUT", path, nil, body)
	if err != nil {
		return err
	}
	return apiObject(e, raw)
}

// apiObject prints an API. The table form shows certificates by subject
// instead of their PEM text; json and yaml print the answer as it is.
func apiObject(e *cmdEnv, raw []byte) error {
	return e.emit(raw, func(w io.Writer) error {
		return printKV(w, summarizeTransport(raw), "openApiDoc")
	})
}

// summarizeTransport replaces the PEM fields of an API's backendTls and
// clientCertificate by the subjects of their certificates.
func summarizeTransport(raw []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	changed := false
	for _, obj := range []string{"backendTls", "clientCertificate"} {
		var o map[string]any
		if json.Unmarshal(m[obj], &o) != nil || o == nil {
			continue
		}
		for _, k := range []string{"caPem", "clientCertPem"} {
			if s, ok := o[k].(string); ok && s != "" {
				o[k] = pemSummary(s)
				changed = true
			}
		}
		m[obj], _ = json.Marshal(o)
	}
	if !changed {
		return raw
	}
	// Keep the answer's field order: rewrite the values in place.
	keys, vals, err := orderedFields(raw)
	if err != nil {
		return raw
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		if v, ok := m[k]; ok && (k == "backendTls" || k == "clientCertificate") {
			b.Write(v)
		} else {
			b.Write(vals[i])
		}
	}
	b.WriteByte('}')
	return []byte(b.String())
}

func pemSummary(s string) string {
	certs, err := catalog.ParseCertificatesPEM(s)
	if err != nil {
		return "(PEM that does not parse)"
	}
	names := make([]string, len(certs))
	for i, c := range certs {
		names[i] = c.Subject.String()
	}
	return fmt.Sprintf("%d certificate(s): %s", len(certs), strings.Join(names, "; "))
}

// importTransport adds the transport flags to the body of an OpenAPI
// import. A create takes them as they are; a re-import (--id) changes the
// stored settings as `api update` does (unnamed fields kept, "" clears
// one) and sends all four fields, null for none, since the admin API
// keeps a field the body leaves out. Without transport flags the body
// carries none and the stored settings are kept.
func importTransport(c *cli.Context, cl *adminClient, body map[string]any) error {
	given, err := checkTransportFlags(c)
	if err != nil || !given {
		return err
	}
	id := c.String("id")
	if id == "" {
		return applyTransportFlags(c, body)
	}
	stored, err := getAPIObject(cl, id)
	if err != nil {
		return err
	}
	settings := map[string]any{}
	for _, k := range oasimport.TransportFieldNames {
		if x, ok := stored[k]; ok && x != nil {
			settings[k] = x
		}
	}
	if err := applyTransportFlags(c, settings); err != nil {
		return err
	}
	for _, k := range oasimport.TransportFieldNames {
		body[k] = settings[k] // nil (null) clears
	}
	return nil
}
