package main

import (
	"log/slog"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/gatehouse/gatehouse/host/gateway"
)

// TestSpansJoinTheBackendsTrace: a span per call record, in the trace the
// backend saw: the root with the sent span id when the gateway started the
// trace, a child of the caller's span otherwise.
func TestSpansJoinTheBackendsTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithIDGenerator(fixedIDs{}))
	tr := &tracing{tp: tp, tracer: tp.Tracer("test"), log: slog.Default()}
	t0 := time.Now()
	tr.Observe(&gateway.CallRecord{Time: t0, Total: 3 * time.Millisecond, API: "shop", Operation: "get", Method: "GET", Status: 200,
		TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TraceStarted: true})
	tr.Observe(&gateway.CallRecord{Time: t0, Total: time.Millisecond, API: "shop", Method: "GET", Status: 502,
		TraceID: "0af7651916cd43dd8448eb211c80319c", TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
	tr.Observe(&gateway.CallRecord{Time: t0, Method: "GET", Status: 404}) // no trace context
	// (the in-memory exporter forgets its spans at shutdown)
	spans := exp.GetSpans()
	defer tr.shutdown()
	if len(spans) != 3 {
		t.Fatalf("%d spans", len(spans))
	}
	root, child, plain := spans[0], spans[1], spans[2]
	if root.Name != "shop get" || root.SpanContext.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" ||
		root.SpanContext.SpanID().String() != "00f067aa0ba902b7" || root.Parent.IsValid() || !root.EndTime.Equal(t0.Add(3*time.Millisecond)) {
		t.Errorf("gateway-started trace: %s trace %s span %s parent %v end %v", root.Name, root.SpanContext.TraceID(), root.SpanContext.SpanID(), root.Parent, root.EndTime.Sub(t0))
	}
	if child.SpanContext.TraceID().String() != "0af7651916cd43dd8448eb211c80319c" || child.Parent.SpanID().String() != "b7ad6b7169203331" ||
		child.SpanContext.SpanID().String() == "b7ad6b7169203331" || child.Status.Code.String() != "Error" {
		t.Errorf("incoming trace: trace %s span %s parent %s status %v", child.SpanContext.TraceID(), child.SpanContext.SpanID(), child.Parent.SpanID(), child.Status)
	}
	if !plain.SpanContext.TraceID().IsValid() || !plain.SpanContext.SpanID().IsValid() {
		t.Errorf("span without trace context: %v", plain.SpanContext)
	}
}
