package analytics

import (
	"context"
	"database/sql"
	"fmt"
)

// The grpc_status column of requests: NULL for a call that is not gRPC,
// else its final grpc-status (-1 when the response carried none). Log
// databases made before it existed get it added when opened.

func addGRPCStatusColumn(ctx context.Context, db *sql.DB) error {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('requests') WHERE name = 'grpc_status'`).Scan(&n); err != nil {
		return fmt.Errorf("reading the requests columns: %w", err)
	}
	if n > 0 {
		return nil
	}
	if _, err := db.ExecContext(ctx, `ALTER TABLE requests ADD COLUMN grpc_status INTEGER`); err != nil {
		return fmt.Errorf("adding requests.grpc_status: %w", err)
	}
	return nil
}

func grpcStatusJSON(r Record) *int {
	if !r.GRPC {
		return nil
	}
	s := r.GRPCStatus
	return &s
}
