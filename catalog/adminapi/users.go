package adminapi

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/catalog"
)

func (s *server) userRoutes(r routes) {
	r.Handle("/users", s.h(s.listUsers)).Methods(http.MethodGet)
	r.Handle("/users", s.h(s.createUser)).Methods(http.MethodPost)
	r.Handle("/users/{userId}", s.h(s.getUser)).Methods(http.MethodGet)
	r.Handle("/users/{userId}", s.h(s.updateUser)).Methods(http.MethodPut)
	r.Handle("/users/{userId}", s.h(s.deleteUser)).Methods(http.MethodDelete)
}

func (s *server) listUsers(w http.ResponseWriter, r *http.Request) error {
	pq, err := s.parsePage(r, kindUsers, "", "emailPrefix", "state")
	if err != nil {
		return err
	}
	f := catalog.UserPageFilter{EmailPrefix: pq.q.Get("emailPrefix"), State: pq.q.Get("state")}
	switch f.State {
	case "", catalog.UserActive, catalog.UserBlocked, catalog.UserPending:
	default:
		return invalid("state", "must be one of active, blocked, pending")
	}
	p, err := s.pager.ListUsersPage(r.Context(), f, pq.req)
	if err != nil {
		return err
	}
	writePage(w, s, pq, p)
	return nil
}

func (s *server) createUser(w http.ResponseWriter, r *http.Request) error {
	var u catalog.User
	if err := decode(w, r, maxJSONBody, &u); err != nil {
		return err
	}
	u, err := s.st.CreateUser(writeCtx(r), u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

func (s *server) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.st.GetUser(r.Context(), mux.Vars(r)["userId"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *server) updateUser(w http.ResponseWriter, r *http.Request) error {
	var u catalog.User
	if err := decode(w, r, maxJSONBody, &u); err != nil {
		return err
	}
	if err := pathID("id", &u.ID, mux.Vars(r)["userId"]); err != nil {
		return err
	}
	u, err := s.st.UpdateUser(writeCtx(r), u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	if err := s.st.DeleteUser(writeCtx(r), mux.Vars(r)["userId"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
