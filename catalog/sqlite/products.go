package sqlite

import (
	"context"
	"database/sql"

	"github.com/gatehouse/gatehouse/catalog"
)

const productCols = `id, name, description, published, approval_required, subscriptions_limit`

func scanProduct(row scanner) (catalog.Product, error) {
	var p catalog.Product
	err := row.Scan(&p.ID, &p.Name, &p.Description, &p.Published, &p.ApprovalRequired, &p.SubscriptionsLimit)
	return p, err
}

// CreateProduct stores a new product; an empty ID is generated.
func (s *Store) CreateProduct(ctx context.Context, p catalog.Product) (catalog.Product, error) {
	if p.ID == "" {
		p.ID = newID()
	}
	if err := p.Validate(); err != nil {
		return catalog.Product{}, err
	}
	err := s.write(ctx, audit{"create", "product", p.ID, p.Name}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO products (`+productCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
			p.ID, p.Name, p.Description, b2i(p.Published), b2i(p.ApprovalRequired), p.SubscriptionsLimit)
		return err
	})
	if err != nil {
		return catalog.Product{}, err
	}
	return p, nil
}

// GetProduct returns one product.
func (s *Store) GetProduct(ctx context.Context, id string) (catalog.Product, error) {
	p, err := scanProduct(s.r.QueryRowContext(ctx, `SELECT `+productCols+` FROM products WHERE id = ?`, id))
	if err != nil {
		return catalog.Product{}, notFound(err, "product", id)
	}
	return p, nil
}

// ListProducts returns every product ordered by name.
func (s *Store) ListProducts(ctx context.Context) ([]catalog.Product, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+productCols+` FROM products ORDER BY name`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []catalog.Product
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, p)
	}
	return out, mapErr(rows.Err())
}

// UpdateProduct replaces every field of the product with ID p.ID.
func (s *Store) UpdateProduct(ctx context.Context, p catalog.Product) (catalog.Product, error) {
	if err := p.Validate(); err != nil {
		return catalog.Product{}, err
	}
	err := s.writeOne(ctx, audit{"update", "product", p.ID, p.Name}, "product", p.ID, `UPDATE products SET name = ?, description = ?, published = ?,
		approval_required = ?, subscriptions_limit = ? WHERE id = ?`,
		p.Name, p.Description, b2i(p.Published), b2i(p.ApprovalRequired), p.SubscriptionsLimit, p.ID)
	if err != nil {
		return catalog.Product{}, err
	}
	return p, nil
}

// DeleteProduct deletes a product with its API links and policy document.
// It fails with ErrConflict while subscriptions to the product exist.
func (s *Store) DeleteProduct(ctx context.Context, id string) error {
	return s.writeOne(ctx, audit{"delete", "product", id, ""}, "product", id, `DELETE FROM products WHERE id = ?`, id)
}

// AddProductAPI links an API to a product (ErrConflict if either is
// missing or the link exists).
func (s *Store) AddProductAPI(ctx context.Context, l catalog.ProductAPI) error {
	if err := l.Validate(); err != nil {
		return err
	}
	return s.write(ctx, audit{"link", "product", l.ProductID, "api " + l.APIID}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO product_apis (product_id, api_id) VALUES (?, ?)`, l.ProductID, l.APIID)
		return err
	})
}

// RemoveProductAPI removes a product↔API link.
func (s *Store) RemoveProductAPI(ctx context.Context, l catalog.ProductAPI) error {
	return s.writeOne(ctx, audit{"unlink", "product", l.ProductID, "api " + l.APIID}, "product api link", l.ProductID+"/"+l.APIID, `DELETE FROM product_apis WHERE product_id = ? AND api_id = ?`, l.ProductID, l.APIID)
}

// ListProductAPIs returns the links of one product, or every link when
// productID is empty.
func (s *Store) ListProductAPIs(ctx context.Context, productID string) ([]catalog.ProductAPI, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT product_id, api_id FROM product_apis
		WHERE ? = '' OR product_id = ? ORDER BY product_id, api_id`, productID, productID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []catalog.ProductAPI
	for rows.Next() {
		var l catalog.ProductAPI
		if err := rows.Scan(&l.ProductID, &l.APIID); err != nil {
			return nil, mapErr(err)
		}
		out = append(out, l)
	}
	return out, mapErr(rows.Err())
}

// CreateGroup stores a new group; an empty ID is generated.
func (s *Store) CreateGroup(ctx context.Context, g catalog.Group) (catalog.Group, error) {
	if g.ID == "" {
		g.ID = newID()
	}
	if err := g.Validate(); err != nil {
		return catalog.Group{}, err
	}
	err := s.write(ctx, audit{"create", "group", g.ID, g.Name}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO groups (id, name, description) VALUES (?, ?, ?)`, g.ID, g.Name, g.Description)
		return err
	})
	if err != nil {
		return catalog.Group{}, err
	}
	return g, nil
}

// GetGroup returns one group.
func (s *Store) GetGroup(ctx context.Context, id string) (catalog.Group, error) {
	var g catalog.Group
	err := s.r.QueryRowContext(ctx, `SELECT id, name, description FROM groups WHERE id = ?`, id).Scan(&g.ID, &g.Name, &g.Description)
	if err != nil {
		return catalog.Group{}, notFound(err, "group", id)
	}
	return g, nil
}

// ListGroups returns every group ordered by name.
func (s *Store) ListGroups(ctx context.Context) ([]catalog.Group, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, description FROM groups ORDER BY name`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []catalog.Group
	for rows.Next() {
		var g catalog.Group
		if err := rows.Scan(&g.ID, &g.Name, &g.Description); err != nil {
			return nil, mapErr(err)
		}
		out = append(out, g)
	}
	return out, mapErr(rows.Err())
}

// UpdateGroup replaces the name and description of the group with ID g.ID.
func (s *Store) UpdateGroup(ctx context.Context, g catalog.Group) (catalog.Group, error) {
	if err := g.Validate(); err != nil {
		return catalog.Group{}, err
	}
	err := s.writeOne(ctx, audit{"update", "group", g.ID, g.Name}, "group", g.ID, `UPDATE groups SET name = ?, description = ? WHERE id = ?`, g.Name, g.Description, g.ID)
	if err != nil {
		return catalog.Group{}, err
	}
	return g, nil
}

// DeleteGroup deletes a group and its memberships.
func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	return s.writeOne(ctx, audit{"delete", "group", id, ""}, "group", id, `DELETE FROM groups WHERE id = ?`, id)
}

// AddGroupUser makes a user a member of a group.
func (s *Store) AddGroupUser(ctx context.Context, groupID, userID string) error {
	if err := catalog.ValidateID("groupId", groupID); err != nil {
		return err
	}
	if err := catalog.ValidateID("userId", userID); err != nil {
		return err
	}
	return s.write(ctx, audit{"link", "group", groupID, "user " + userID}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO group_users (group_id, user_id) VALUES (?, ?)`, groupID, userID)
		return err
	})
}

// RemoveGroupUser removes a user from a group.
func (s *Store) RemoveGroupUser(ctx context.Context, groupID, userID string) error {
	return s.writeOne(ctx, audit{"unlink", "group", groupID, "user " + userID}, "group membership", groupID+"/"+userID, `DELETE FROM group_users WHERE group_id = ? AND user_id = ?`, groupID, userID)
}

// ListGroupUsers returns the members of a group ordered by e-mail.
func (s *Store) ListGroupUsers(ctx context.Context, groupID string) ([]catalog.User, error) {
	return s.listUsers(ctx, `SELECT u.id, u.email, u.name, u.state FROM users u
		JOIN group_users g ON g.user_id = u.id WHERE g.group_id = ? ORDER BY u.email`, groupID)
}

// CreateUser stores a new user; an empty ID is generated and an empty
// state means active. E-mail addresses are unique, ignoring case.
func (s *Store) CreateUser(ctx context.Context, u catalog.User) (catalog.User, error) {
	if u.ID == "" {
		u.ID = newID()
	}
	u.ApplyDefaults()
	if err := u.Validate(); err != nil {
		return catalog.User{}, err
	}
	err := s.write(ctx, audit{"create", "user", u.ID, u.Email}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, name, state) VALUES (?, ?, ?, ?)`, u.ID, u.Email, u.Name, u.State)
		return err
	})
	if err != nil {
		return catalog.User{}, err
	}
	return u, nil
}

// GetUser returns one user.
func (s *Store) GetUser(ctx context.Context, id string) (catalog.User, error) {
	var u catalog.User
	err := s.r.QueryRowContext(ctx, `SELECT id, email, name, state FROM users WHERE id = ?`, id).Scan(&u.ID, &u.Email, &u.Name, &u.State)
	if err != nil {
		return catalog.User{}, notFound(err, "user", id)
	}
	return u, nil
}

// ListUsers returns every user ordered by e-mail.
func (s *Store) ListUsers(ctx context.Context) ([]catalog.User, error) {
	return s.listUsers(ctx, `SELECT id, email, name, state FROM users ORDER BY email`)
}

func (s *Store) listUsers(ctx context.Context, q string, args ...any) ([]catalog.User, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []catalog.User
	for rows.Next() {
		var u catalog.User
		if err := rows.Scan(&u.ID, &u.Email, &u.Name, &u.State); err != nil {
			return nil, mapErr(err)
		}
		out = append(out, u)
	}
	return out, mapErr(rows.Err())
}

// UpdateUser replaces the e-mail, name and state of the user with ID u.ID.
func (s *Store) UpdateUser(ctx context.Context, u catalog.User) (catalog.User, error) {
	u.ApplyDefaults()
	if err := u.Validate(); err != nil {
		return catalog.User{}, err
	}
	err := s.writeOne(ctx, audit{"update", "user", u.ID, u.Email}, "user", u.ID, `UPDATE users SET email = ?, name = ?, state = ? WHERE id = ?`, u.Email, u.Name, u.State, u.ID)
	if err != nil {
		return catalog.User{}, err
	}
	return u, nil
}

// DeleteUser deletes a user and their group memberships. It fails with
// ErrConflict while the user has subscriptions.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	return s.writeOne(ctx, audit{"delete", "user", id, ""}, "user", id, `DELETE FROM users WHERE id = ?`, id)
}
