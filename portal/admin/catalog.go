package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
)

// The catalog pages. Reads come from the catalog (or, where the admin API
// masks secrets — policies, named values — from the admin API); every
// change is an admin API call as the signed-in admin (api.go).

// catalogRoutes registers the catalog pages.
func (s *Server) catalogRoutes(m *http.ServeMux) {
	m.HandleFunc("GET "+Prefix+"/apis", s.auth(s.apis))
	m.HandleFunc("POST "+Prefix+"/apis/import", s.auth(s.importAPI))
	m.HandleFunc("GET "+Prefix+"/apis/{id}", s.auth(s.apiPage))
	m.HandleFunc("POST "+Prefix+"/apis/{id}", s.auth(s.updateAPI))
	m.HandleFunc("POST "+Prefix+"/apis/{id}/delete", s.auth(s.deleteAPI))
	m.HandleFunc("POST "+Prefix+"/apis/{id}/transport", s.auth(s.updateTransport)) // transport_edit.go
	m.HandleFunc("GET "+Prefix+"/products", s.auth(s.products))
	m.HandleFunc("POST "+Prefix+"/products", s.auth(s.createProduct))
	m.HandleFunc("GET "+Prefix+"/products/{id}", s.auth(s.productPage))
	m.HandleFunc("POST "+Prefix+"/products/{id}", s.auth(s.updateProduct))
	m.HandleFunc("POST "+Prefix+"/products/{id}/apis", s.auth(s.addProductAPI))
	m.HandleFunc("POST "+Prefix+"/products/{id}/apis/{apiId}/remove", s.auth(s.removeProductAPI))
	m.HandleFunc("POST "+Prefix+"/products/{id}/delete", s.auth(s.deleteProduct))
	m.HandleFunc("GET "+Prefix+"/users", s.auth(s.users))
	m.HandleFunc("POST "+Prefix+"/users", s.auth(s.createUser))
	m.HandleFunc("POST "+Prefix+"/users/{id}/state", s.auth(s.setUserState))
	m.HandleFunc("POST "+Prefix+"/groups", s.auth(s.createGroup))
	m.HandleFunc("POST "+Prefix+"/users/{id}/delete", s.auth(s.deleteUser))
	m.HandleFunc("POST "+Prefix+"/groups/{id}/members", s.auth(s.addMember))
	m.HandleFunc("POST "+Prefix+"/groups/{id}/members/{user}/remove", s.auth(s.removeMember))
	m.HandleFunc("GET "+Prefix+"/subscriptions", s.auth(s.subscriptions))
	m.HandleFunc("POST "+Prefix+"/subscriptions", s.auth(s.createSubscription))
	m.HandleFunc("POST "+Prefix+"/subscriptions/{id}/state", s.auth(s.setSubscriptionState))
	m.HandleFunc("POST "+Prefix+"/subscriptions/{id}/expiry", s.auth(s.setSubscriptionExpiry))
	m.HandleFunc("POST "+Prefix+"/subscriptions/{id}/regenerate", s.auth(s.regenerateKey))
	m.HandleFunc("GET "+Prefix+"/subscriptions/{id}/keys", s.auth(s.showKeys))
	m.HandleFunc("GET "+Prefix+"/named-values", s.auth(s.namedValues))
	m.HandleFunc("POST "+Prefix+"/named-values", s.auth(s.createNamedValue))
	m.HandleFunc("POST "+Prefix+"/named-values/{name}", s.auth(s.replaceNamedValue))
	m.HandleFunc("POST "+Prefix+"/named-values/{name}/delete", s.auth(s.deleteNamedValue))
	m.HandleFunc("GET "+Prefix+"/audit", s.auth(s.audit))
	s.moduleRoutes(m)
	s.trafficRoutes(m)
}

// form reads a trimmed form field.
func form(r *http.Request, name string) string { return strings.TrimSpace(r.PostFormValue(name)) }

func checked(r *http.Request, name string) bool { return r.PostFormValue(name) != "" }

// retry re-renders a page with the admin API's refusal shown, when the
// error is one of the input (400, 409, 413); other errors, and a role's
// refusal (403), go to fail with the API's status.
func (s *Server) retry(err error, show func(msg string) error) error {
	var ae *apiError
	if errors.As(err, &ae) && ae.Status < 500 && ae.Status != http.StatusNotFound && ae.Status != http.StatusForbidden && ae.Status != http.StatusUnauthorized {
		return show(ae.Error())
	}
	return err
}

// ---- APIs

func (s *Server) apis(w http.ResponseWriter, r *http.Request) error {
	return s.renderAPIs(w, r, http.StatusOK, nil)
}

// renderAPIs is in apis_page.go (paged in SQL).

// maxDocument bounds an imported OpenAPI document (as the admin API does).
const maxDocument = 8 << 20

// importAPI imports an OpenAPI document from an uploaded file, pasted
// text or a URL (fetched by Options.FetchDocument), into a new API or an
// existing one, and shows the import's report or its diagnostics.
func (s *Server) importAPI(w http.ResponseWriter, r *http.Request) error {
	in := map[string]any{"apiId": form(r, "apiId"), "name": form(r, "name"), "pathPrefix": form(r, "pathPrefix"), "backendUrl": form(r, "backendUrl")}
	sub := checked(r, "subscriptionRequired")
	in["subscriptionRequired"] = sub
	show := func(msg string) error {
		return s.renderAPIs(w, r, http.StatusBadRequest, map[string]any{"Error": "Import refused: " + msg, "Form": in})
	}
	var doc []byte
	if f, _, err := r.FormFile("file"); err == nil {
		defer f.Close()
		doc, err = io.ReadAll(io.LimitReader(f, maxDocument+1))
		if err != nil {
			return err
		}
	}
	if len(doc) == 0 {
		doc = []byte(r.PostFormValue("document"))
	}
	if u := form(r, "url"); u != "" && len(bytes.TrimSpace(doc)) == 0 {
		if s.o.FetchDocument == nil {
			return show("importing from a URL is not available on this server; upload the file")
		}
		ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
		b, err := s.o.FetchDocument(ctx, u)
		cancel()
		if err != nil {
			return show("fetching " + u + ": " + err.Error())
		}
		doc = b
	}
	if len(bytes.TrimSpace(doc)) == 0 {
		return show("give a file, a URL or the document's text")
	}
	if len(doc) > maxDocument {
		return show(fmt.Sprintf("the document is larger than %d MiB", maxDocument>>20))
	}
	in["document"] = string(doc)
	var rep struct {
		API     catalog.API         `json:"api"`
		Created []catalog.Operation `json:"created"`
		Updated []catalog.Operation `json:"updated"`
		Deleted []catalog.Operation `json:"deleted"`
	}
	if err := s.callJSON(r, http.MethodPost, "/apis/import", in, &rep); err != nil {
		return s.retry(err, show)
	}
	return s.renderAPI(w, r, rep.API.ID, http.StatusOK, map[string]any{"Report": rep})
}

func (s *Server) apiPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderAPI(w, r, r.PathValue("id"), http.StatusOK, nil)
}

func (s *Server) renderAPI(w http.ResponseWriter, r *http.Request, id string, status int, extra map[string]any) error {
	a, err := s.st.GetAPI(r.Context(), id)
	if err != nil {
		return err
	}
	ops, err := s.st.ListOperations(r.Context(), id)
	if err != nil {
		return err
	}
	links, err := s.st.ListProductAPIs(r.Context(), "")
	if err != nil {
		return err
	}
	var products []string
	for _, l := range links {
		if l.APIID == id {
			products = append(products, l.ProductID)
		}
	}
	a.OpenAPIDoc = nil
	tf, err := s.transportForm(r, a)
	if err != nil {
		return err
	}
	data := map[string]any{"Title": "API " + a.Name, "Nav": "api", "API": a, "Operations": ops, "Products": products, "Transport": transportRows(a), "TransportForm": tf}
	for k, v := range extra {
		data[k] = v
	}
	s.render(w, r, status, "api", data)
	return nil
}

// updateAPI edits an API's settings (the admin API's PUT takes the whole
// API: the form's fields over the stored ones).
func (s *Server) updateAPI(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var a catalog.API
	if err := s.callJSON(r, http.MethodGet, "/apis/"+id, nil, &a); err != nil {
		return err
	}
	a.Name, a.PathPrefix, a.BackendURL = form(r, "name"), form(r, "pathPrefix"), form(r, "backendUrl")
	a.SubscriptionRequired = checked(r, "subscriptionRequired")
	a.OpenAPIDoc = nil
	if err := s.callJSON(r, http.MethodPut, "/apis/"+id, a, nil); err != nil {
		return s.retry(err, func(msg string) error {
			return s.renderAPI(w, r, id, http.StatusBadRequest, map[string]any{"Error": msg})
		})
	}
	redirect(w, r, Prefix+"/apis/"+id, "saved")
	return nil
}

func (s *Server) deleteAPI(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if form(r, "confirm") != id {
		return s.renderAPI(w, r, id, http.StatusBadRequest, map[string]any{"Error": "Type the API's ID to confirm the deletion."})
	}
	if err := s.callJSON(r, http.MethodDelete, "/apis/"+id, nil, nil); err != nil {
		return s.retry(err, func(msg string) error {
			return s.renderAPI(w, r, id, http.StatusConflict, map[string]any{"Error": msg})
		})
	}
	redirect(w, r, Prefix+"/apis", "deleted")
	return nil
}

// ---- products

func (s *Server) products(w http.ResponseWriter, r *http.Request) error {
	return s.renderProducts(w, r, http.StatusOK, nil)
}

func (s *Server) renderProducts(w http.ResponseWriter, r *http.Request, status int, extra map[string]any) error {
	ps, err := s.st.ListProducts(r.Context())
	if err != nil {
		return err
	}
	links, err := s.st.ListProductAPIs(r.Context(), "")
	if err != nil {
		return err
	}
	count := map[string]int{}
	for _, l := range links {
		count[l.ProductID]++
	}
	data := map[string]any{"Title": "Products", "Products": ps, "APICount": count}
	for k, v := range extra {
		data[k] = v
	}
	s.render(w, r, status, "products", data)
	return nil
}

func productFromForm(r *http.Request) (catalog.Product, error) {
	p := catalog.Product{ID: form(r, "id"), Name: form(r, "name"), Description: form(r, "description"),
		Published: checked(r, "published"), ApprovalRequired: checked(r, "approvalRequired")}
	if l := form(r, "subscriptionsLimit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return p, &statusError{http.StatusBadRequest, "subscriptionsLimit: a whole number, 0 for unlimited"}
		}
		p.SubscriptionsLimit = n
	}
	return p, nil
}

func (s *Server) createProduct(w http.ResponseWriter, r *http.Request) error {
	p, err := productFromForm(r)
	show := func(msg string) error {
		return s.renderProducts(w, r, http.StatusBadRequest, map[string]any{"Error": msg, "Form": p})
	}
	if err != nil {
		return show(err.Error())
	}
	var out catalog.Product
	if err := s.callJSON(r, http.MethodPost, "/products", p, &out); err != nil {
		return s.retry(err, show)
	}
	redirect(w, r, Prefix+"/products/"+out.ID, "created")
	return nil
}

func (s *Server) productPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderProduct(w, r, r.PathValue("id"), http.StatusOK, "")
}

func (s *Server) renderProduct(w http.ResponseWriter, r *http.Request, id string, status int, errMsg string) error {
	ctx := r.Context()
	p, err := s.st.GetProduct(ctx, id)
	if err != nil {
		return err
	}
	links, err := s.st.ListProductAPIs(ctx, id)
	if err != nil {
		return err
	}
	all, err := s.st.ListAPIs(ctx)
	if err != nil {
		return err
	}
	in := map[string]bool{}
	for _, l := range links {
		in[l.APIID] = true
	}
	var member, other []catalog.API
	for _, a := range all {
		a.OpenAPIDoc = nil
		if in[a.ID] {
			member = append(member, a)
		} else {
			other = append(other, a)
		}
	}
	subs, err := s.st.ListSubscriptions(ctx, catalog.SubscriptionFilter{Scope: catalog.ScopeProduct, ScopeID: id})
	if err != nil {
		return err
	}
	s.render(w, r, status, "product", map[string]any{"Title": "Product " + p.Name, "Nav": "product", "Product": p,
		"APIs": member, "Other": other, "Subscriptions": len(subs), "Error": errMsg})
	return nil
}

func (s *Server) updateProduct(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	p, err := productFromForm(r)
	if err != nil {
		return s.renderProduct(w, r, id, http.StatusBadRequest, err.Error())
	}
	p.ID = id
	if err := s.callJSON(r, http.MethodPut, "/products/"+id, p, nil); err != nil {
		return s.retry(err, func(msg string) error { return s.renderProduct(w, r, id, http.StatusBadRequest, msg) })
	}
	redirect(w, r, Prefix+"/products/"+id, "saved")
	return nil
}

func (s *Server) addProductAPI(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.callJSON(r, http.MethodPut, "/products/"+id+"/apis/"+form(r, "apiId"), nil, nil); err != nil {
		return s.retry(err, func(msg string) error { return s.renderProduct(w, r, id, http.StatusBadRequest, msg) })
	}
	redirect(w, r, Prefix+"/products/"+id, "saved")
	return nil
}

func (s *Server) removeProductAPI(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.callJSON(r, http.MethodDelete, "/products/"+id+"/apis/"+r.PathValue("apiId"), nil, nil); err != nil {
		return s.retry(err, func(msg string) error { return s.renderProduct(w, r, id, http.StatusConflict, msg) })
	}
	redirect(w, r, Prefix+"/products/"+id, "saved")
	return nil
}

func (s *Server) deleteProduct(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if form(r, "confirm") != id {
		return s.renderProduct(w, r, id, http.StatusBadRequest, "Type the product's ID to confirm the deletion.")
	}
	if err := s.callJSON(r, http.MethodDelete, "/products/"+id, nil, nil); err != nil {
		return s.retry(err, func(msg string) error { return s.renderProduct(w, r, id, http.StatusConflict, msg) })
	}
	redirect(w, r, Prefix+"/products", "deleted")
	return nil
}

// ---- users and groups

func (s *Server) users(w http.ResponseWriter, r *http.Request) error {
	return s.renderUsers(w, r, http.StatusOK, "")
}

// renderUsers is in users_page.go (paged in SQL).

// groupRow is a group as listed, with its members.
type groupRow struct {
	catalog.Group
	Members []catalog.User
}

// deleteUser deletes a developer after the ID is typed again (as APIs
// are), through the admin API: its rules on what a delete takes with it
// apply.
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if form(r, "confirm") != id {
		return s.renderUsers(w, r, http.StatusBadRequest, "To delete user "+id+", type its ID in the confirmation field.")
	}
	if err := s.callJSON(r, http.MethodDelete, "/users/"+url.PathEscape(id), nil, nil); err != nil {
		return s.retry(err, func(msg string) error { return s.renderUsers(w, r, http.StatusBadRequest, msg) })
	}
	redirect(w, r, Prefix+"/users", "deleted")
	return nil
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request) error {
	g, u := r.PathValue("id"), form(r, "user")
	if u == "" {
		return s.renderUsers(w, r, http.StatusBadRequest, "Give the ID or e-mail of a user to add to group "+g+".")
	}
	if strings.Contains(u, "@") {
		// An e-mail: the form is a text field (a list of every user does
		// not scale), and an admin knows the address better than the ID.
		us, err := s.st.GetUserByEmail(r.Context(), u)
		if err != nil {
			return s.renderUsers(w, r, http.StatusBadRequest, "No user with the e-mail "+u+".")
		}
		u = us.ID
	}
	if err := s.callJSON(r, http.MethodPut, "/groups/"+url.PathEscape(g)+"/users/"+url.PathEscape(u), nil, nil); err != nil {
		return s.retry(err, func(msg string) error { return s.renderUsers(w, r, http.StatusBadRequest, msg) })
	}
	redirect(w, r, Prefix+"/users", "saved")
	return nil
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) error {
	g, u := r.PathValue("id"), r.PathValue("user")
	if err := s.callJSON(r, http.MethodDelete, "/groups/"+url.PathEscape(g)+"/users/"+url.PathEscape(u), nil, nil); err != nil {
		return s.retry(err, func(msg string) error { return s.renderUsers(w, r, http.StatusBadRequest, msg) })
	}
	redirect(w, r, Prefix+"/users", "saved")
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	u := catalog.User{ID: form(r, "id"), Email: form(r, "email"), Name: form(r, "name")}
	if err := s.callJSON(r, http.MethodPost, "/users", u, nil); err != nil {
		return s.retry(err, func(msg string) error { return s.renderUsers(w, r, http.StatusBadRequest, msg) })
	}
	redirect(w, r, Prefix+"/users", "created")
	return nil
}

func (s *Server) setUserState(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var u catalog.User
	if err := s.callJSON(r, http.MethodGet, "/users/"+id, nil, &u); err != nil {
		return err
	}
	u.State = form(r, "state")
	if err := s.callJSON(r, http.MethodPut, "/users/"+id, u, nil); err != nil {
		return s.retry(err, func(msg string) error { return s.renderUsers(w, r, http.StatusBadRequest, msg) })
	}
	redirect(w, r, Prefix+"/users", "saved")
	return nil
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request) error {
	g := catalog.Group{ID: form(r, "id"), Name: form(r, "name"), Description: form(r, "description")}
	if err := s.callJSON(r, http.MethodPost, "/groups", g, nil); err != nil {
		return s.retry(err, func(msg string) error { return s.renderUsers(w, r, http.StatusBadRequest, msg) })
	}
	redirect(w, r, Prefix+"/users", "created")
	return nil
}

// ---- subscriptions

// subRow is a subscription as listed, with its state now.
type subRow struct {
	catalog.Subscription
	Now       catalog.SubscriptionState
	UserEmail string
}

func (s *Server) subscriptions(w http.ResponseWriter, r *http.Request) error {
	return s.renderSubscriptions(w, r, http.StatusOK, nil)
}

// renderSubscriptions is in subscriptions_page.go (paged in SQL).

func (s *Server) createSubscription(w http.ResponseWriter, r *http.Request) error {
	in := map[string]any{"userId": form(r, "userId"), "name": form(r, "name"), "scope": form(r, "scope"), "scopeId": form(r, "scopeId")}
	var out struct {
		Subscription catalog.Subscription `json:"subscription"`
	}
	if err := s.callJSON(r, http.MethodPost, "/subscriptions", in, &out); err != nil {
		return s.retry(err, func(msg string) error {
			return s.renderSubscriptions(w, r, http.StatusBadRequest, map[string]any{"Error": msg})
		})
	}
	redirect(w, r, Prefix+"/subscriptions", "created")
	return nil
}

var subActions = []string{"approve", "activate", "suspend", "cancel"}

func (s *Server) setSubscriptionState(w http.ResponseWriter, r *http.Request) error {
	action := form(r, "action")
	if !slices.Contains(subActions, action) {
		return &statusError{http.StatusBadRequest, "unknown action " + strconv.Quote(action)}
	}
	if err := s.callJSON(r, http.MethodPost, "/subscriptions/"+r.PathValue("id")+"/"+action, nil, nil); err != nil {
		return s.retry(err, func(msg string) error {
			return s.renderSubscriptions(w, r, http.StatusConflict, map[string]any{"Error": msg})
		})
	}
	redirect(w, r, Prefix+"/subscriptions", "state")
	return nil
}

func (s *Server) setSubscriptionExpiry(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		ExpiresAt *time.Time `json:"expiresAt"`
	}
	if v := form(r, "expiresAt"); v != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", v, time.UTC)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, v); err != nil {
				return s.renderSubscriptions(w, r, http.StatusBadRequest, map[string]any{"Error": "expiresAt: a date and time (UTC), or empty to clear"})
			}
		}
		body.ExpiresAt = &t
	}
	if err := s.callJSON(r, http.MethodPut, "/subscriptions/"+r.PathValue("id")+"/expiry", body, nil); err != nil {
		return s.retry(err, func(msg string) error {
			return s.renderSubscriptions(w, r, http.StatusBadRequest, map[string]any{"Error": msg})
		})
	}
	redirect(w, r, Prefix+"/subscriptions", "state")
	return nil
}

func (s *Server) regenerateKey(w http.ResponseWriter, r *http.Request) error {
	slot := form(r, "slot")
	if slot != "primary" && slot != "secondary" {
		return &statusError{http.StatusBadRequest, "slot: primary or secondary"}
	}
	if err := s.callJSON(r, http.MethodPost, "/subscriptions/"+r.PathValue("id")+"/keys/"+slot+"/regenerate", nil, nil); err != nil {
		return err
	}
	redirect(w, r, Prefix+"/subscriptions", "regenerate")
	return nil
}

// showKeys answers a subscription's keys as JSON for the page's script
// (never in the page source): through the admin API, which needs editor
// and writes an audit row.
func (s *Server) showKeys(w http.ResponseWriter, r *http.Request) error {
	var keys json.RawMessage
	if err := s.callJSON(r, http.MethodGet, "/subscriptions/"+r.PathValue("id")+"/keys", nil, &keys); err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			writeJSONStatus(w, ae.Status, map[string]string{"error": ae.Error()})
			return nil
		}
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(keys)
	return nil
}

// ---- named values

func (s *Server) namedValues(w http.ResponseWriter, r *http.Request) error {
	return s.renderNamedValues(w, r, http.StatusOK, "")
}

func (s *Server) renderNamedValues(w http.ResponseWriter, r *http.Request, status int, errMsg string) error {
	// Through the admin API: it masks secret values.
	var out struct {
		Items []catalog.NamedValue `json:"items"`
	}
	if err := s.callJSON(r, http.MethodGet, "/named-values", nil, &out); err != nil {
		return err
	}
	s.render(w, r, status, "namedvalues", map[string]any{"Title": "Named values", "Values": out.Items, "Error": errMsg})
	return nil
}

func (s *Server) createNamedValue(w http.ResponseWriter, r *http.Request) error {
	n := catalog.NamedValue{Name: form(r, "name"), Value: r.PostFormValue("value"), Secret: checked(r, "secret")}
	if err := s.callJSON(r, http.MethodPost, "/named-values", n, nil); err != nil {
		return s.retry(err, func(msg string) error { return s.renderNamedValues(w, r, http.StatusBadRequest, msg) })
	}
	redirect(w, r, Prefix+"/named-values", "created")
	return nil
}

// replaceNamedValue sets a new value without showing the old one.
func (s *Server) replaceNamedValue(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	n := catalog.NamedValue{Name: name, Value: r.PostFormValue("value"), Secret: checked(r, "secret")}
	if err := s.callJSON(r, http.MethodPut, "/named-values/"+name, n, nil); err != nil {
		return s.retry(err, func(msg string) error { return s.renderNamedValues(w, r, http.StatusBadRequest, msg) })
	}
	redirect(w, r, Prefix+"/named-values", "saved")
	return nil
}

func (s *Server) deleteNamedValue(w http.ResponseWriter, r *http.Request) error {
	if err := s.callJSON(r, http.MethodDelete, "/named-values/"+r.PathValue("name"), nil, nil); err != nil {
		return s.retry(err, func(msg string) error { return s.renderNamedValues(w, r, http.StatusConflict, msg) })
	}
	redirect(w, r, Prefix+"/named-values", "deleted")
	return nil
}

// ---- audit log

func (s *Server) audit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	entries, err := s.st.ListAudit(r.Context(), 5000)
	if err != nil {
		return err
	}
	actor, kind := q.Get("actor"), q.Get("entity")
	var from, to time.Time
	if v := q.Get("from"); v != "" {
		from, _ = time.ParseInLocation("2006-01-02", v, time.UTC)
	}
	if v := q.Get("to"); v != "" {
		if t, err := time.ParseInLocation("2006-01-02", v, time.UTC); err == nil {
			to = t.Add(24 * time.Hour)
		}
	}
	var out []catalog.AuditEntry
	actors := map[string]bool{}
	kinds := map[string]bool{}
	for _, e := range entries {
		actors[e.Actor], kinds[e.Entity] = true, true
		if (actor != "" && e.Actor != actor) || (kind != "" && e.Entity != kind) ||
			(!from.IsZero() && e.At.Before(from)) || (!to.IsZero() && !e.At.Before(to)) {
			continue
		}
		if len(out) < 500 {
			out = append(out, e)
		}
	}
	s.render(w, r, http.StatusOK, "audit", map[string]any{"Title": "Audit log", "Entries": out, "Actors": sortedKeys(actors),
		"Kinds": sortedKeys(kinds), "Actor": actor, "Kind": kind, "From": q.Get("from"), "To": q.Get("to")})
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
