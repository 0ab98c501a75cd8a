package engine

import (
	"fmt"
	"log/slog"

	"github.com/gatehouse/gatehouse/abi/hostcall"
)

// Budgets are the per-request limits the host enforces across a request's
// whole chain (abi/hostcall.Budgets; zero fields: the abi.Max* defaults).
type Budgets = hostcall.Budgets

// BudgetRefused logs the first refusal of a request by a budget (the
// semantics layer calls it once per request and budget).
func (inst *instance) BudgetRefused(ex *Exchange, budget, fn string, have, limit int) {
	msg := fmt.Sprintf("host refused %s: request budget %q exhausted (%d, limit %d); further refusals of this request are not logged", fn, budget, have, limit)
	inst.m.budgetLog.line(slog.LevelWarn, "budget", msg, ex.RequestID)
}
