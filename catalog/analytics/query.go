package analytics

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/gatehouse/gatehouse/catalog"
)

// span is one scan of a rollup table: buckets in [from, to) (unix
// seconds).
type span struct {
	table    string
	from, to int64
}

// plan splits [from, to) into scans of the coarsest rollups that fit:
// whole days from the day rollups, whole hours at the edges from the hour
// rollups, and the remaining minutes from the minute rollups. A query
// bucketed by minute (hour) reads nothing coarser than minutes (hours).
// The minutes from mark on are read from the minute rollups only: the
// hour and day rows do not have them yet (rollup_mark).
func plan(from, to time.Time, bucket string, mark int64) []span {
	f := floorDiv(from.Unix(), 60) * 60
	// Minutes starting before To: rounded up to the second, so a minute that
	// starts within To's second (12:00:00 for To = 12:00:00.4) counts.
	t := to.Unix()
	if to.Nanosecond() > 0 {
		t++
	}
	top := len(levels) - 1
	switch bucket {
	case "minute":
		top = 0
	case "hour":
		top = 1
	}
	if top == 0 || t <= mark {
		return planLevel(f, t, top)
	}
	if f >= mark {
		return planLevel(f, t, 0)
	}
	return append(planLevel(f, mark, top), planLevel(mark, t, 0)...)
}

func planLevel(f, t int64, l int) []span {
	if f >= t {
		return nil
	}
	lv := levels[l]
	if l == 0 {
		return []span{{lv.table, f, t}}
	}
	s := floorDiv(f+lv.size-1, lv.size) * lv.size // first whole bucket
	e := floorDiv(t, lv.size) * lv.size           // end of the last whole bucket
	if s >= e {
		return planLevel(f, t, l-1)
	}
	out := planLevel(f, s, l-1)
	out = append(out, span{lv.table, s, e})
	return append(out, planLevel(e, t, l-1)...)
}

// gkey is the group of a query row.
type gkey struct {
	bucket int64
	dims   [5]string
}

// Query aggregates the rollups. Rows are ordered by bucket, then by the
// grouped dimensions. See Query for the range and the defaults; invalid
// queries answer a *catalog.FieldError.
func (w *Writer) Query(ctx context.Context, q Query) ([]Row, error) {
	q, err := q.Normalize(w.now())
	if err != nil {
		return nil, err
	}
	var dimIdx []int // indexes into Dimensions of the grouped columns
	cols := []string{"bucket"}
	for i, d := range Dimensions {
		if slices.Contains(q.GroupBy, d) {
			cols = append(cols, d)
			dimIdx = append(dimIdx, i)
		}
	}
	cols = append(cols, "data")
	var where []string
	var fargs []driver.NamedValue
	for _, f := range []struct{ col, v string }{
		{"api", q.API}, {"operation", q.Operation}, {"product", q.Product}, {"subscription", q.Subscription}, {"user", q.User},
	} {
		if f.v != "" {
			where = append(where, f.col+" = ?")
			fargs = append(fargs, driver.NamedValue{Value: f.v})
		}
	}
	var size int64
	switch q.Bucket {
	case "minute":
		size = 60
	case "hour":
		size = 3600
	case "day":
		size = 86400
	}
	aggs := map[gkey]*agg{}
	conn, err := w.r.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*sqlite3.SQLiteConn)
		if !ok {
			return fmt.Errorf("analytics: unexpected driver connection %T", dc)
		}
		for _, sp := range plan(q.From, q.To, q.Bucket, w.markSeen.Load()) {
			stmt := "SELECT " + strings.Join(cols, ", ") + " FROM " + sp.table + " WHERE bucket >= ? AND bucket < ?"
			for _, c := range where {
				stmt += " AND " + c
			}
			args := append([]driver.NamedValue{{Ordinal: 1, Value: sp.from}, {Ordinal: 2, Value: sp.to}}, fargs...)
			for i := range args {
				args[i].Ordinal = i + 1
			}
			if err := scanRollups(ctx, c, stmt, args, len(cols), dimIdx, size, aggs); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Row, 0, len(aggs))
	for k, a := range aggs {
		r := Row{API: k.dims[0], Operation: k.dims[1], Product: k.dims[2], Subscription: k.dims[3], User: k.dims[4],
			Calls: a.calls, Errors4xx: a.err4xx, Errors5xx: a.err5xx, BytesIn: a.bytesIn, BytesOut: a.bytesOut,
			CacheHits: a.cacheHits, P50: a.h.quantile(0.50), P95: a.h.quantile(0.95), P99: a.h.quantile(0.99)}
		if q.Bucket != "" {
			r.Bucket = time.Unix(k.bucket, 0).UTC()
		}
		if a.calls > 0 {
			r.CacheHitRatio = float64(a.cacheHits) / float64(a.calls)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(x, y Row) int {
		return cmp.Or(x.Bucket.Compare(y.Bucket), cmp.Compare(x.API, y.API), cmp.Compare(x.Operation, y.Operation),
			cmp.Compare(x.Product, y.Product), cmp.Compare(x.Subscription, y.Subscription), cmp.Compare(x.User, y.User))
	})
	if len(out) == 0 && len(q.GroupBy) == 0 && q.Bucket == "" {
		out = append(out, Row{})
	}
	return out, nil
}

// scanRollups runs one rollup SELECT on the driver connection (no
// database/sql conversions per value: the hot loop of long queries) and
// adds its rows to aggs, grouped by bucket (of size seconds; 0 = none)
// and the dimensions dimIdx.
func scanRollups(ctx context.Context, c *sqlite3.SQLiteConn, stmt string, args []driver.NamedValue, ncols int, dimIdx []int, size int64, aggs map[gkey]*agg) error {
	rows, err := c.QueryContext(ctx, stmt, args)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]driver.Value, ncols)
	nd := len(dimIdx)
	for {
		if err := rows.Next(vals); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		var k gkey
		if size > 0 {
			b, _ := vals[0].(int64)
			k.bucket = floorDiv(b, size) * size
		}
		for i, d := range dimIdx {
			switch x := vals[1+i].(type) {
			case string:
				k.dims[d] = x
			case []byte:
				k.dims[d] = string(x)
			}
		}
		a := aggs[k]
		if a == nil {
			a = &agg{}
			aggs[k] = a
		}
		var data []byte
		switch x := vals[1+nd].(type) {
		case []byte:
			data = x
		case string:
			data = []byte(x)
		}
		if err := a.decodeAdd(data); err != nil {
			return err
		}
	}
}

// Requests answers the newest raw rows matching f, newest (by request
// time) first.
func (w *Writer) Requests(ctx context.Context, f RequestFilter) ([]Record, error) {
	limit := f.Limit
	switch {
	case limit < 0:
		return nil, &catalog.FieldError{Path: "limit", Msg: "must be a positive integer"}
	case limit == 0:
		limit = DefaultRequestLimit
	case limit > MaxRequestLimit:
		limit = MaxRequestLimit
	}
	stmt := `SELECT ts, request_id, api, operation, product, subscription, user, client_ip, method, path, query,
		status, backend_status, total_us, backend_us, policies_us, bytes_in, bytes_out, cache_hit, policy_error, grpc_status
		FROM requests WHERE 1=1`
	var args []any
	for _, c := range []struct{ col, v string }{
		{"api", f.API}, {"operation", f.Operation}, {"product", f.Product}, {"subscription", f.Subscription}, {"user", f.User},
	} {
		if c.v != "" {
			stmt += " AND " + c.col + " = ?"
			args = append(args, c.v)
		}
	}
	if f.Status != 0 {
		stmt += " AND status = ?"
		args = append(args, f.Status)
	}
	if !f.From.IsZero() {
		stmt += " AND ts >= ?"
		args = append(args, f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		stmt += " AND ts < ?"
		args = append(args, f.To.UnixMicro())
	}
	stmt += " ORDER BY ts DESC, id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := w.r.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Record{}
	for rows.Next() {
		var r Record
		var ts, tot, be, pol int64
		var ch int
		var gs sql.NullInt64
		if err := rows.Scan(&ts, &r.RequestID, &r.API, &r.Operation, &r.Product, &r.Subscription, &r.User, &r.ClientIP,
			&r.Method, &r.Path, &r.Query, &r.Status, &r.BackendStatus, &tot, &be, &pol, &r.BytesIn, &r.BytesOut, &ch, &r.PolicyError, &gs); err != nil {
			return nil, err
		}
		r.GRPC, r.GRPCStatus = gs.Valid, int(gs.Int64)
		r.Time = time.UnixMicro(ts).UTC()
		r.Total, r.Backend, r.Policies = time.Duration(tot)*time.Microsecond, time.Duration(be)*time.Microsecond, time.Duration(pol)*time.Microsecond
		r.CacheHit, r.CacheStatus = decodeCache(ch)
		out = append(out, r)
	}
	return out, rows.Err()
}
