package adminapi

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/catalog"
)

func (s *server) groupRoutes(r routes) {
	r.Handle("/groups", s.h(s.listGroups)).Methods(http.MethodGet)
	r.Handle("/groups", s.h(s.createGroup)).Methods(http.MethodPost)
	r.Handle("/groups/{groupId}", s.h(s.getGroup)).Methods(http.MethodGet)
	r.Handle("/groups/{groupId}", s.h(s.updateGroup)).Methods(http.MethodPut)
	r.Handle("/groups/{groupId}", s.h(s.deleteGroup)).Methods(http.MethodDelete)
	r.Handle("/groups/{groupId}/users", s.h(s.listGroupUsers)).Methods(http.MethodGet)
	r.Handle("/groups/{groupId}/users/{userId}", s.h(s.addGroupUser)).Methods(http.MethodPut)
	r.Handle("/groups/{groupId}/users/{userId}", s.h(s.removeGroupUser)).Methods(http.MethodDelete)
}

func (s *server) listGroups(w http.ResponseWriter, r *http.Request) error {
	pq, err := s.parsePage(r, kindGroups, "")
	if err != nil {
		return err
	}
	gs, err := s.st.ListGroups(r.Context())
	if err != nil {
		return err
	}
	sliceAnswer(w, s, pq, gs, func(g catalog.Group) catalog.PageKey { return catalog.PageKey{S: g.Name} })
	return nil
}

func (s *server) createGroup(w http.ResponseWriter, r *http.Request) error {
	var g catalog.Group
	if err := decode(w, r, maxJSONBody, &g); err != nil {
		return err
	}
	g, err := s.st.CreateGroup(writeCtx(r), g)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, g)
	return nil
}

func (s *server) getGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := s.st.GetGroup(r.Context(), mux.Vars(r)["groupId"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}

func (s *server) updateGroup(w http.ResponseWriter, r *http.Request) error {
	var g catalog.Group
	if err := decode(w, r, maxJSONBody, &g); err != nil {
		return err
	}
	if err := pathID("id", &g.ID, mux.Vars(r)["groupId"]); err != nil {
		return err
	}
	g, err := s.st.UpdateGroup(writeCtx(r), g)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}

func (s *server) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	if err := s.st.DeleteGroup(writeCtx(r), mux.Vars(r)["groupId"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) listGroupUsers(w http.ResponseWriter, r *http.Request) error {
	id := mux.Vars(r)["groupId"]
	if _, err := s.st.GetGroup(r.Context(), id); err != nil {
		return err
	}
	pq, err := s.parsePage(r, kindGroupUsers, id)
	if err != nil {
		return err
	}
	us, err := s.st.ListGroupUsers(r.Context(), id)
	if err != nil {
		return err
	}
	sliceAnswer(w, s, pq, us, func(u catalog.User) catalog.PageKey { return catalog.PageKey{S: u.Email, T: u.ID} })
	return nil
}

// groupMember is the answer of a membership write.
type groupMember struct {
	GroupID string `json:"groupId"`
	UserID  string `json:"userId"`
}

// addGroupUser adds a member: 201 when new, 200 (and no write) when the
// user already is a member.
func (s *server) addGroupUser(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	m := groupMember{v["groupId"], v["userId"]}
	if _, err := s.st.GetGroup(r.Context(), m.GroupID); err != nil {
		return err
	}
	if _, err := s.st.GetUser(r.Context(), m.UserID); err != nil {
		return err
	}
	us, err := s.st.ListGroupUsers(r.Context(), m.GroupID)
	if err != nil {
		return err
	}
	for _, u := range us {
		if u.ID == m.UserID {
			writeJSON(w, http.StatusOK, m)
			return nil
		}
	}
	if err := s.st.AddGroupUser(writeCtx(r), m.GroupID, m.UserID); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, m)
	return nil
}

func (s *server) removeGroupUser(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	if err := s.st.RemoveGroupUser(writeCtx(r), v["groupId"], v["userId"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
