package body

import "testing"

func TestMediaTypeIs(t *testing.T) {
	for v, want := range map[string]bool{
		"application/json": true, " Application/JSON ; charset=utf-8": true, "text/json": true, "application/problem+json": true,
		"application/jsonx": false, "+json": false, "text/plain": false, "": false, "application/xml": false,
	} {
		if got := MediaTypeIs([]byte(v), "+json", "application/json", "text/json"); got != want {
			t.Errorf("MediaTypeIs(%q) = %v", v, got)
		}
	}
}

func TestCheckMax(t *testing.T) {
	one, big, zero := 1, LimitMax+1, 0
	if n, err := CheckMax(nil); n != DefaultMax || err != nil {
		t.Errorf("nil: %d %v", n, err)
	}
	if n, err := CheckMax(&one); n != 1 || err != nil {
		t.Errorf("1: %d %v", n, err)
	}
	for _, v := range []*int{&big, &zero} {
		if _, err := CheckMax(v); err == nil {
			t.Errorf("%d accepted", *v)
		}
	}
}

func TestCollect(t *testing.T) {
	garbage = 0
	Collect(gcEvery - 1)
	if garbage != gcEvery-1 {
		t.Fatal(garbage)
	}
	Collect(1)
	if garbage != 0 {
		t.Errorf("no collection at the threshold: %d", garbage)
	}
}
