package setqueryparameter

import "testing"

func TestEditDoesNotAllocate(t *testing.T) {
	const q = "b=1&a=1&c&A=2&a=3&d=e"
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() {
		if !has(q, "a") || has(q, "z") {
			t.Fatal("has")
		}
		if got := without(buf[:0], q, "a"); string(got) != "b=1&c&A=2&d=e" {
			t.Fatalf("without = %s", got)
		}
	}); n != 0 {
		t.Errorf("%v allocations per edit", n)
	}
}
