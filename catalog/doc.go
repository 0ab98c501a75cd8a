// Package catalog holds Gatehouse's catalog domain: the entities an API
// Management administrator manages (APIs, operations, products, users,
// groups, subscriptions and their keys, policy modules, policy documents,
// named values and the audit log), their validation rules, the typed errors
// every store returns, and the store interfaces consumers depend on.
//
// The package imports only the standard library; storage engines live in
// subpackages such as catalog/sqlite.
package catalog
