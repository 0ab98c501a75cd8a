package adminapi

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/catalog"
)

// Policy documents carry an entity tag so that an editor (the admin
// portal's policy editor, a script) can save with If-Match and get 412
// instead of overwriting a document someone else changed since it was
// read. The tag is an HMAC of the stored document under a key made at
// start: stored documents may hold inline secrets, and a plain hash of
// them would let anyone who can read policies test guesses of a secret
// offline. A restart changes every tag (a save with an old one answers
// 412 once; the editor then compares the documents themselves).

var etagKey = func() []byte {
	k := make([]byte, 32)
	rand.Read(k) // never fails (crypto/rand)
	return k
}()

// policyETag is the strong entity tag of a stored policy document.
func policyETag(d catalog.PolicyDoc) string {
	b, _ := json.Marshal(d) // a PolicyDoc always marshals
	m := hmac.New(sha256.New, etagKey)
	m.Write(b)
	return `"` + hex.EncodeToString(m.Sum(nil)[:16]) + `"`
}

// checkIfMatch answers 412 when the request has an If-Match header that
// the stored document of scope/id (cur; exists: whether there is one)
// does not match. "*" matches any stored document; no header matches
// anything.
func checkIfMatch(r *http.Request, scope catalog.Scope, id string, cur catalog.PolicyDoc, exists bool) error {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return nil
	}
	if exists {
		tag := policyETag(cur)
		for _, t := range strings.Split(h, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || t == tag {
				return nil
			}
		}
	}
	return &httpError{status: http.StatusPreconditionFailed, code: "precondition_failed",
		msg: "the policy of " + scopeLabel(scope, id) + " changed since it was read (If-Match does not match its ETag): GET it again and reapply your change"}
}

// setPolicyETag sets the ETag header to the stored document's tag, read
// back from the store so it equals what a GET answers.
func (s *server) setPolicyETag(w http.ResponseWriter, r *http.Request, scope catalog.Scope, id string) {
	if d, err := s.st.GetPolicy(r.Context(), scope, id); err == nil {
		w.Header().Set("ETag", policyETag(d))
	}
}
