package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse/gatehouse/host/gateway"
)

// tracing exports one OpenTelemetry span per proxied call over OTLP/HTTP,
// built from the call record after the response (so the request path pays
// nothing beyond the record). It is set up only when
// OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set; the exporter
// reads the standard OTEL_EXPORTER_OTLP_* variables.
//
// The span joins the W3C trace the backend saw: with an incoming
// traceparent it is a child of the caller's span; when the gateway started
// the trace, the span is its root and has the very span id the backend got
// as its parent.
type tracing struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	once   sync.Once
	log    *slog.Logger
}

func startTracing(ctx context.Context, log *slog.Logger) (*tracing, error) {
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return nil, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, err
	}
	res, _ := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", "gatehouse")))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithIDGenerator(fixedIDs{}),
	)
	log.Info("exporting a span per call over OTLP/HTTP", "endpoint", firstNonEmpty(os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")))
	return &tracing{tp: tp, tracer: tp.Tracer("github.com/gatehouse/gatehouse/host/gateway"), log: log}, nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// Observe implements gateway.Observer: one server span per call.
func (t *tracing) Observe(r *gateway.CallRecord) {
	ctx := context.Background()
	if tid, sid, ok := parseTP(r.TraceParent); ok {
		if r.TraceStarted {
			ctx = context.WithValue(ctx, fixedIDsKey{}, ids{tid, sid})
		} else {
			ctx = trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, Remote: true}))
		}
	}
	name := r.Method
	if r.API != "" {
		name = r.API
		if r.Operation != "" {
			name += " " + r.Operation
		}
	}
	_, span := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(r.Time),
		trace.WithAttributes(
			attribute.String("gatehouse.api", r.API),
			attribute.String("gatehouse.operation", r.Operation),
			attribute.String("gatehouse.request_id", r.RequestID),
			attribute.String("http.request.method", r.Method),
			attribute.String("url.path", r.Path),
			attribute.Int("http.response.status_code", r.Status),
			attribute.String("client.address", r.ClientIP),
		))
	if r.Product != "" {
		span.SetAttributes(attribute.String("gatehouse.product", r.Product))
	}
	if r.BackendStatus != 0 {
		span.SetAttributes(attribute.Int("gatehouse.backend.status_code", r.BackendStatus), attribute.Float64("gatehouse.backend.duration_ms", float64(r.Backend)/1e6))
	}
	if r.Status >= 500 {
		span.SetStatus(codes.Error, r.PolicyError)
	}
	span.End(trace.WithTimestamp(r.Time.Add(r.Total)))
}

// shutdown flushes the spans still queued (bounded).
func (t *tracing) shutdown() {
	t.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := t.tp.Shutdown(ctx); err != nil {
			t.log.Warn("tracing: flush on shutdown", "err", err)
		}
	})
}

func parseTP(v string) (trace.TraceID, trace.SpanID, bool) {
	var tid trace.TraceID
	var sid trace.SpanID
	if len(v) < 55 {
		return tid, sid, false
	}
	if _, err := hex.Decode(tid[:], []byte(v[3:35])); err != nil {
		return tid, sid, false
	}
	if _, err := hex.Decode(sid[:], []byte(v[36:52])); err != nil {
		return tid, sid, false
	}
	return tid, sid, tid.IsValid() && sid.IsValid()
}

// fixedIDs gives a root span the ids the gateway already sent to the
// backend (carried in the context); other spans get random ids.
type fixedIDs struct{}

type fixedIDsKey struct{}

type ids struct {
	t trace.TraceID
	s trace.SpanID
}

func (fixedIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if v, ok := ctx.Value(fixedIDsKey{}).(ids); ok {
		return v.t, v.s
	}
	var x ids
	randFill(x.t[:])
	randFill(x.s[:])
	return x.t, x.s
}

func (fixedIDs) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	var s trace.SpanID
	randFill(s[:])
	return s
}

func randFill(b []byte) {
	for {
		_, _ = rand.Read(b)
		for _, c := range b {
			if c != 0 {
				return
			}
		}
	}
}
