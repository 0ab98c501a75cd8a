package adminapi

import (
	"net/http"
	"slices"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/catalog"
)

func (s *server) productRoutes(r routes) {
	r.Handle("/products", s.h(s.listProducts)).Methods(http.MethodGet)
	r.Handle("/products", s.h(s.createProduct)).Methods(http.MethodPost)
	r.Handle("/products/{productId}", s.h(s.getProduct)).Methods(http.MethodGet)
	r.Handle("/products/{productId}", s.h(s.updateProduct)).Methods(http.MethodPut)
	r.Handle("/products/{productId}", s.h(s.deleteProduct)).Methods(http.MethodDelete)
	r.Handle("/products/{productId}/apis", s.h(s.listProductAPIs)).Methods(http.MethodGet)
	r.Handle("/products/{productId}/apis/{apiId}", s.h(s.addProductAPI)).Methods(http.MethodPut)
	r.Handle("/products/{productId}/apis/{apiId}", s.h(s.removeProductAPI)).Methods(http.MethodDelete)
}

func (s *server) listProducts(w http.ResponseWriter, r *http.Request) error {
	pq, err := s.parsePage(r, kindProducts, "")
	if err != nil {
		return err
	}
	ps, err := s.st.ListProducts(r.Context())
	if err != nil {
		return err
	}
	sliceAnswer(w, s, pq, ps, func(p catalog.Product) catalog.PageKey { return catalog.PageKey{S: p.Name} })
	return nil
}

func (s *server) createProduct(w http.ResponseWriter, r *http.Request) error {
	var p catalog.Product
	if err := decode(w, r, maxJSONBody, &p); err != nil {
		return err
	}
	p, err := s.st.CreateProduct(writeCtx(r), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, p)
	return nil
}

func (s *server) getProduct(w http.ResponseWriter, r *http.Request) error {
	p, err := s.st.GetProduct(r.Context(), mux.Vars(r)["productId"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *server) updateProduct(w http.ResponseWriter, r *http.Request) error {
	var p catalog.Product
	if err := decode(w, r, maxJSONBody, &p); err != nil {
		return err
	}
	if err := pathID("id", &p.ID, mux.Vars(r)["productId"]); err != nil {
		return err
	}
	p, err := s.st.UpdateProduct(writeCtx(r), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *server) deleteProduct(w http.ResponseWriter, r *http.Request) error {
	if err := s.st.DeleteProduct(writeCtx(r), mux.Vars(r)["productId"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) listProductAPIs(w http.ResponseWriter, r *http.Request) error {
	id := mux.Vars(r)["productId"]
	if _, err := s.st.GetProduct(r.Context(), id); err != nil {
		return err
	}
	pq, err := s.parsePage(r, kindProductAPIs, id)
	if err != nil {
		return err
	}
	links, err := s.st.ListProductAPIs(r.Context(), id)
	if err != nil {
		return err
	}
	sliceAnswer(w, s, pq, links, func(l catalog.ProductAPI) catalog.PageKey { return catalog.PageKey{S: l.APIID} })
	return nil
}

// addProductAPI links an API to a product: 201 when the link is new, 200
// (and no write) when it exists.
func (s *server) addProductAPI(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	l := catalog.ProductAPI{ProductID: v["productId"], APIID: v["apiId"]}
	if _, err := s.st.GetProduct(r.Context(), l.ProductID); err != nil {
		return err
	}
	if _, err := s.st.GetAPI(r.Context(), l.APIID); err != nil {
		return err
	}
	links, err := s.st.ListProductAPIs(r.Context(), l.ProductID)
	if err != nil {
		return err
	}
	if slices.Contains(links, l) {
		writeJSON(w, http.StatusOK, l)
		return nil
	}
	if err := s.st.AddProductAPI(writeCtx(r), l); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, l)
	return nil
}

func (s *server) removeProductAPI(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	if err := s.st.RemoveProductAPI(writeCtx(r), catalog.ProductAPI{ProductID: v["productId"], APIID: v["apiId"]}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
