package admin

import "net/http"

// catalogRoutes registers the catalog pages (APIs, products, users,
// subscriptions, modules, named values, analytics, logs).
func (s *Server) catalogRoutes(m *http.ServeMux) {
}
