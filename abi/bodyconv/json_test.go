package bodyconv

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// jsonCorpus is the differential corpus: the fixtures, the documented
// examples and malformed, deep and oversized inputs.
func jsonCorpus(tb testing.TB) []string {
	fix, err := os.ReadFile("../../plugins/builtin/testdata/body/order.json")
	if err != nil {
		tb.Fatal(err)
	}
	deep := strings.Repeat("[", 63) + "1" + strings.Repeat("]", 63)
	return []string{string(fix), string(fix[:len(fix)/2]), strings.Replace(string(fix), ":", ",", 1),
		`{"a":"x\u00e9\ud83d\ude00\ud800 <&>'\"\t"}`, `[1,[2,[3]],{"":null}]`, `"\u0000\u001f\ufffe"`,
		`{"a b":{"c":[true,false,-1.5e3]}}`, "\"\xff\xfe\"", `{"2024":"2024-01-02T03:04:05+01:00"}`,
		`{"d":"2024-01-02T03:04:05.000000Z","e":"2024-13-02T03:04:05Z"}`,
		``, ` `, `{`, `}`, `[`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `01`, `-`, `1.`, `1e`, `-0.5E+7`, `tru`, `nul`, `null `, `truex`,
		`"\x"`, `"\u12"`, `"\ud800\u12"`, "\"a\nb\"", `{"a":1}{}`, `[] []`, ` {"a" : [ 1 , 2 ] } `, `{"":""}`, `{"1":{"é":{"a.b":{"-x":0}}}}`,
		deep, "[" + deep + "]", "[[" + deep + "]]", strings.Repeat(`{"a":`, 64) + "1" + strings.Repeat("}", 64),
		strings.Repeat(`{"a":`, 63) + "[1]" + strings.Repeat("}", 63), strings.Repeat(`{"a":`, 65) + "1" + strings.Repeat("}", 64),
		`[` + strings.Repeat(`1,`, 5000) + `1]`, `{"k":"` + strings.Repeat("<&>", 1000) + `"}`,
	}
}

func TestJSONToXMLAgreesWithReference(t *testing.T) {
	for _, in := range jsonCorpus(t) {
		for _, max := range []int{0, 100, 5000, 1 << 20} {
			for _, pd := range []bool{false, true} {
				checkJSON(t, []byte(in), pd, max)
			}
		}
	}
}

func checkJSON(t *testing.T, in []byte, parseDate bool, max int) {
	t.Helper()
	prefix := []byte("prefix")
	want, werr := jsonToXMLStd(bytes.Clone(prefix), in, parseDate, max)
	got, gerr := JSONToXML(bytes.Clone(prefix), in, parseDate, max)
	if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
		t.Fatalf("%.80q max %d: error %v, reference %v", in, max, gerr, werr)
	}
	if werr == nil && !bytes.Equal(got, want) {
		t.Fatalf("%.80q max %d:\n got %q\nwant %q", in, max, got, want)
	}
}

// TestJSONToXMLFastPath checks that the fixtures take the fast path (a
// regression there would pass the differential test and only show as time).
func TestJSONToXMLFastPath(t *testing.T) {
	fix, err := os.ReadFile("../../plugins/builtin/testdata/body/order.json")
	if err != nil {
		t.Fatal(err)
	}
	f := fconv{conv: conv{in: fix, parseDate: true}}
	if !f.document() {
		t.Fatalf("the fixture left the fast path at byte %d", f.i)
	}
}

// TestJSONToXMLOutputCap: a small JSON expanding to a large XML stops at
// the cap with ErrTooLarge, as the reference does.
func TestJSONToXMLOutputCap(t *testing.T) {
	in := []byte(`{"a_rather_long_element_name":[` + strings.Repeat(`1,`, 1200) + `1]}`) // 2.4 KB → ~80 KB
	out, err := JSONToXML(nil, in, false, 64<<10)
	if err != ErrTooLarge {
		t.Fatalf("err %v", err)
	}
	if len(out) > 64<<10+200 {
		t.Fatalf("wrote %d bytes past the cap", len(out)-64<<10)
	}
	if _, err := JSONToXML(nil, in, false, 128<<10); err != nil {
		t.Fatal(err)
	}
}

func FuzzJSONToXML(f *testing.F) {
	for _, s := range jsonCorpus(f) {
		if len(s) < 4096 {
			f.Add([]byte(s), false, 0)
		}
	}
	f.Add([]byte(`[1,2,3]`), true, 20)
	f.Fuzz(func(t *testing.T, in []byte, parseDate bool, max int) {
		checkJSON(t, in, parseDate, max)
	})
}

func BenchmarkJSONToXML(b *testing.B) {
	fix, err := os.ReadFile("../../plugins/builtin/testdata/body/order.json")
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		fn   func([]byte, []byte, bool, int) ([]byte, error)
	}{{"fast", JSONToXML}, {"reference", jsonToXMLStd}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(fix)))
			var out []byte
			start := cpuTime()
			for b.Loop() {
				out, _ = c.fn(out[:0], fix, true, 1<<20)
			}
			reportCPU(b, start)
		})
	}
}
