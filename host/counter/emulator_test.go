package counter_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/host/counter"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

// TestEmulatorCountsAsTheHost: the SDK's emulator keeps its own in-memory
// counters (it may not link this package's cgo SQLite); they must answer
// exactly what this store answers — count, reset time, refusal — for the
// same calls, fixed and sliding, across window boundaries.
func TestEmulatorCountsAsTheHost(t *testing.T) {
	host := counter.New(counter.Options{})
	emu := sdktest.NewCounters()
	r := rand.New(rand.NewPCG(1, 2))
	now := time.Unix(1_700_000_000, 123456789)
	keys := []string{"a", "b", "c"}
	windows := []time.Duration{time.Second, 7 * time.Second, time.Minute}
	for i := 0; i < 20000; i++ {
		now = now.Add(time.Duration(r.IntN(400)) * time.Millisecond)
		key, w := keys[r.IntN(len(keys))], windows[r.IntN(len(windows))]
		mode := abi.CounterFixed
		if r.IntN(2) == 1 {
			mode = abi.CounterSliding
		}
		delta, limit := int64(r.IntN(3)), int64(r.IntN(12))
		hc, hr, hok, herr := host.Add(key, delta, limit, w, mode, now)
		ec, er, eok, eerr := emu.Add(key, delta, limit, w, mode, now)
		if hc != ec || !hr.Equal(er) || hok != eok || (herr == nil) != (eerr == nil) {
			t.Fatalf("call %d (%s, delta %d, limit %d, window %v, mode %d): host %d %v %v %v, emulator %d %v %v %v",
				i, key, delta, limit, w, mode, hc, hr, hok, herr, ec, er, eok, eerr)
		}
	}
	for _, bad := range []struct {
		key    string
		delta  int64
		window time.Duration
		mode   int32
	}{{"", 1, time.Second, 0}, {"k", -1, time.Second, 0}, {"k", 1, 0, 0}, {"k", 1, 367 * 24 * time.Hour, 0}, {"k", 1, time.Second, 0x40}} {
		_, _, _, herr := host.Add(bad.key, bad.delta, 0, bad.window, bad.mode, now)
		_, _, _, eerr := emu.Add(bad.key, bad.delta, 0, bad.window, bad.mode, now)
		if herr == nil || eerr == nil {
			t.Errorf("%+v: host err %v, emulator err %v; want both refused", bad, herr, eerr)
		}
	}
}
