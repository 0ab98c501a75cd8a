package sdk

import (
	"encoding/json"
	"testing"
)

func TestParseFlat(t *testing.T) {
	for _, in := range []string{
		`{"id":"s1","state":"active","scope":"product","product":"starter","user":"u1","api_allowed":true}`,
		` { "id" : "s1" , "api_allowed" : false , "extra" : null } `,
		`{}`,
		`{"id":null,"state":"x"}`,
		`{"id":"a\"b","api_allowed":true}`,         // escape: fallback
		`{"id":"s","n":1}`,                         // number: fallback
		`{"id":"s","api_allowed":"yes"}`,           // wrong type: fallback error
		`{"id":"s"`, `{"id":"s"} x`, `[]`, ``, `{`, // malformed
		`{"id":"s",}`, `{"id" "s"}`, `{"api_allowed":tru}`,
	} {
		var want Subscription
		wantErr := json.Unmarshal([]byte(in), &want) != nil
		var got Subscription
		ok := parseFlat([]byte(in), &got)
		if ok && (wantErr || got != want) {
			t.Errorf("parseFlat(%s) = %+v, encoding/json: %+v (error %v)", in, got, want, wantErr)
		}
	}
}

func FuzzParseFlat(f *testing.F) {
	f.Add(`{"id":"s1","state":"active","scope":"product","product":"starter","user":"u1","api_allowed":true}`)
	f.Add(`{"id":null}`)
	f.Fuzz(func(t *testing.T, in string) {
		var got Subscription
		if !parseFlat([]byte(in), &got) {
			return
		}
		var want Subscription
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatalf("parseFlat accepted %q that encoding/json rejects: %v", in, err)
		}
		if got != want {
			t.Fatalf("parseFlat(%q) = %+v, encoding/json %+v", in, got, want)
		}
	})
}
