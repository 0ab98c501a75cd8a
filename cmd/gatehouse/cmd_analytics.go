package main

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// analyticsCommand is `gatehouse analytics`: aggregated request analytics
// (GET /analytics), and `analytics requests`: the newest logged requests
// (GET /analytics/requests).
func analyticsCommand() *cli.Command {
	c := leaf("analytics", "show request analytics: calls, errors, bytes, cache hits, latency percentiles", "", []cli.Flag{
		&cli.StringFlag{Name: "from", Usage: "start: RFC 3339 time, or a duration ago (90m, 6h, 7d; default: --to minus 24h)"},
		&cli.StringFlag{Name: "to", Usage: "end (exclusive): RFC 3339 time, or a duration ago (default: now)"},
		&cli.StringFlag{Name: "group-by", Usage: "comma-separated dimensions: api, operation, product, subscription, user"},
		&cli.StringFlag{Name: "bucket", Usage: "time buckets: minute, hour or day (UTC; default: none)"},
		&cli.StringFlag{Name: "api", Usage: "only this API's calls"},
		&cli.StringFlag{Name: "operation", Usage: "only this operation's calls"},
		&cli.StringFlag{Name: "product", Usage: "only this product's calls"},
		&cli.StringFlag{Name: "subscription", Usage: "only this subscription's calls"},
		&cli.StringFlag{Name: "user", Usage: "only this user's calls"},
	}, analyticsQuery)
	c.Subcommands = []*cli.Command{
		leaf("requests", "show the newest logged requests, newest first", "", []cli.Flag{
			&cli.IntFlag{Name: "limit", Value: 20, Usage: "how many requests (at most 1000)"},
			&cli.StringFlag{Name: "api", Usage: "only this API's requests"},
			&cli.StringFlag{Name: "operation", Usage: "only this operation's requests"},
			&cli.StringFlag{Name: "product", Usage: "only this product's requests"},
			&cli.StringFlag{Name: "subscription", Usage: "only this subscription's requests"},
			&cli.StringFlag{Name: "user", Usage: "only this user's requests"},
			&cli.IntFlag{Name: "status", Usage: "only requests answered with this status"},
		}, analyticsRequests),
	}
	return c
}

// analyticsTime turns an RFC 3339 time or a duration ago ("6h", "7d")
// into RFC 3339.
func analyticsTime(flag, v string, now time.Time) (string, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.Format(time.RFC3339), nil
	}
	s := strings.TrimPrefix(v, "-")
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d < 0 {
		return "", usageError{fmt.Errorf("--%s: want an RFC 3339 time or a duration ago like 6h or 7d, not %q", flag, v)}
	}
	return now.Add(-d).UTC().Format(time.RFC3339), nil
}

func analyticsQuery(e *cmdEnv) error {
	if err := e.want(0, 0); err != nil {
		return err
	}
	q := url.Values{}
	now := time.Now()
	for _, f := range []string{"from", "to"} {
		if v := e.c.String(f); v != "" {
			t, err := analyticsTime(f, v, now)
			if err != nil {
				return err
			}
			q.Set(f, t)
		}
	}
	group := strings.ReplaceAll(e.c.String("group-by"), " ", "")
	if group != "" {
		q.Set("groupBy", group)
	}
	bucket := e.c.String("bucket")
	if bucket != "" {
		q.Set("bucket", bucket)
	}
	for _, f := range []string{"api", "operation", "product", "subscription", "user"} {
		if v := e.c.String(f); v != "" {
			q.Set(f, v)
		}
	}
	cl, err := e.client()
	if err != nil {
		return err
	}
	raw, err := cl.call("GET", "/analytics", q, nil)
	if err != nil {
		return err
	}
	arr, ms, err := listItems(raw)
	if err != nil {
		return err
	}
	var cols []tableCol
	if bucket != "" {
		cols = append(cols, tableCol{"BUCKET", "bucket"})
	}
	if group != "" {
		for _, g := range strings.Split(group, ",") {
			cols = append(cols, tableCol{strings.ToUpper(g), g})
		}
	}
	cols = append(cols, tableCols("CALLS", "calls", "4XX", "errors4xx", "5XX", "errors5xx", "CACHE HITS", "cacheHitRatio",
		"P50 MS", "p50Ms", "P95 MS", "p95Ms", "P99 MS", "p99Ms", "BYTES IN", "bytesIn", "BYTES OUT", "bytesOut")...)
	return e.emit(arr, func(w io.Writer) error {
		for _, m := range ms {
			if r, ok := m["cacheHitRatio"].(float64); ok {
				m["cacheHitRatio"] = strconv.FormatFloat(r*100, 'f', 1, 64) + "%"
			} else if _, ok := m["cacheHitRatio"].(int64); ok {
				m["cacheHitRatio"] = strconv.FormatInt(m["cacheHitRatio"].(int64)*100, 10) + "%"
			}
			for _, k := range []string{"p50Ms", "p95Ms", "p99Ms"} {
				if f, ok := m[k].(float64); ok {
					m[k] = strconv.FormatFloat(f, 'f', 1, 64)
				}
			}
		}
		printTable(w, ms, cols)
		return nil
	})
}

func analyticsRequests(e *cmdEnv) error {
	if err := e.want(0, 0); err != nil {
		return err
	}
	n := e.c.Int("limit")
	if n < 1 || n > 1000 {
		return usageError{fmt.Errorf("--limit must be between 1 and 1000, not %d", n)}
	}
	q := url.Values{"limit": {strconv.Itoa(n)}}
	for _, f := range []string{"api", "operation", "product", "subscription", "user"} {
		if v := e.c.String(f); v != "" {
			q.Set(f, v)
		}
	}
	if s := e.c.Int("status"); s != 0 {
		q.Set("status", strconv.Itoa(s))
	}
	cl, err := e.client()
	if err != nil {
		return err
	}
	raw, err := cl.call("GET", "/analytics/requests", q, nil)
	if err != nil {
		return err
	}
	return e.list(raw, tableCols("TIME", "time", "REQUEST ID", "requestId", "METHOD", "method", "PATH", "path", "STATUS", "status",
		"GRPC", "grpcStatus", "MS", "totalMs", "API", "api", "OPERATION", "operation", "SUBSCRIPTION", "subscription", "CACHE", "cacheHit", "POLICY ERROR", "policyError"))
}
