package catalog

import (
	"context"
	"time"
)

// The interfaces below are the seams consumers depend on. Each is small so
// a consumer can ask for exactly what it uses (the gateway snapshot builder
// needs readers and VersionReader; the key check needs KeyLookup; the admin
// API needs Store). Implementations return errors wrapping ErrNotFound,
// ErrConflict and ErrInvalid.

// VersionReader reports the catalog version, a counter bumped by every
// write. It is cheap enough to poll.
type VersionReader interface {
	Version(ctx context.Context) (int64, error)
}

// KeyLookup resolves a subscription key (either slot) to its subscription.
// The subscription is returned whatever its state; State reflects
// ExpiresAt.
type KeyLookup interface {
	LookupKey(ctx context.Context, key string) (Subscription, error)
}

// APIs manages APIs.
type APIs interface {
	CreateAPI(ctx context.Context, a API) (API, error)
	GetAPI(ctx context.Context, id string) (API, error)
	ListAPIs(ctx context.Context) ([]API, error)
	UpdateAPI(ctx context.Context, a API) (API, error)
	DeleteAPI(ctx context.Context, id string) error
}

// Operations manages API operations.
type Operations interface {
	CreateOperation(ctx context.Context, o Operation) (Operation, error)
	GetOperation(ctx context.Context, id string) (Operation, error)
	// ListOperations lists one API's operations, or all when apiID is "".
	ListOperations(ctx context.Context, apiID string) ([]Operation, error)
	UpdateOperation(ctx context.Context, o Operation) (Operation, error)
	DeleteOperation(ctx context.Context, id string) error
}

// Products manages products and their API links.
type Products interface {
	CreateProduct(ctx context.Context, p Product) (Product, error)
	GetProduct(ctx context.Context, id string) (Product, error)
	ListProducts(ctx context.Context) ([]Product, error)
	UpdateProduct(ctx context.Context, p Product) (Product, error)
	DeleteProduct(ctx context.Context, id string) error
	AddProductAPI(ctx context.Context, l ProductAPI) error
	RemoveProductAPI(ctx context.Context, l ProductAPI) error
	// ListProductAPIs lists one product's links, or all when productID is "".
	ListProductAPIs(ctx context.Context, productID string) ([]ProductAPI, error)
}

// Groups manages groups and their members.
type Groups interface {
	CreateGroup(ctx context.Context, g Group) (Group, error)
	GetGroup(ctx context.Context, id string) (Group, error)
	ListGroups(ctx context.Context) ([]Group, error)
	UpdateGroup(ctx context.Context, g Group) (Group, error)
	DeleteGroup(ctx context.Context, id string) error
	AddGroupUser(ctx context.Context, groupID, userID string) error
	RemoveGroupUser(ctx context.Context, groupID, userID string) error
	ListGroupUsers(ctx context.Context, groupID string) ([]User, error)
}

// Users manages users.
type Users interface {
	CreateUser(ctx context.Context, u User) (User, error)
	GetUser(ctx context.Context, id string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	UpdateUser(ctx context.Context, u User) (User, error)
	DeleteUser(ctx context.Context, id string) error
}

// SubscriptionFilter narrows ListSubscriptions; zero fields match all.
type SubscriptionFilter struct {
	UserID  string
	Scope   Scope
	ScopeID string
}

// Subscriptions manages subscriptions and their keys. Plaintext keys are
// returned only by CreateSubscription, RegenerateKey and ShowKeys.
type Subscriptions interface {
	KeyLookup
	// CreateSubscription returns the stored subscription and its primary
	// and secondary keys.
	CreateSubscription(ctx context.Context, s Subscription) (sub Subscription, primaryKey, secondaryKey string, err error)
	GetSubscription(ctx context.Context, id string) (Subscription, error)
	ListSubscriptions(ctx context.Context, f SubscriptionFilter) ([]Subscription, error)
	SetSubscriptionState(ctx context.Context, id string, state SubscriptionState) (Subscription, error)
	SetSubscriptionExpiry(ctx context.Context, id string, expiresAt *time.Time) (Subscription, error)
	RegenerateKey(ctx context.Context, id string, slot KeySlot) (string, error)
	ShowKeys(ctx context.Context, id string) (Keys, error)
	DeleteSubscription(ctx context.Context, id string) error
}

// Modules manages uploaded policy modules.
type Modules interface {
	CreateModule(ctx context.Context, m Module) (Module, error)
	GetModule(ctx context.Context, name, version string) (Module, error)
	// ListModules returns modules without their wasm bytes.
	ListModules(ctx context.Context) ([]Module, error)
	DeleteModule(ctx context.Context, name, version string) error
	// SetModuleGrant replaces what is granted to a module version (a
	// subset of its manifest's requests); granting less is ErrConflict
	// while a policy entry runs that version.
	SetModuleGrant(ctx context.Context, name, version string, g ModuleGrant) (Module, error)
}

// Policies manages policy documents.
type Policies interface {
	SetPolicy(ctx context.Context, d PolicyDoc) error
	GetPolicy(ctx context.Context, scope Scope, scopeID string) (PolicyDoc, error)
	ListPolicies(ctx context.Context) ([]PolicyDoc, error)
	DeletePolicy(ctx context.Context, scope Scope, scopeID string) error
}

// NamedValues manages named values.
type NamedValues interface {
	CreateNamedValue(ctx context.Context, n NamedValue) (NamedValue, error)
	GetNamedValue(ctx context.Context, name string) (NamedValue, error)
	ListNamedValues(ctx context.Context) ([]NamedValue, error)
	UpdateNamedValue(ctx context.Context, n NamedValue) (NamedValue, error)
	DeleteNamedValue(ctx context.Context, name string) error
}

// AuditLog reads the audit log, newest first, and records reads of
// sensitive data (secret named values, subscription keys) and admin
// actions that change no catalog entity (a portal reset link issued,
// portal sessions ended) with the context's actor (WithActor).
type AuditLog interface {
	ListAudit(ctx context.Context, limit int) ([]AuditEntry, error)
	RecordRead(ctx context.Context, entity, id, detail string) error
	RecordAction(ctx context.Context, action, entity, id, detail string) error
}

// Store is the whole catalog.
type Store interface {
	VersionReader
	APIs
	Operations
	Products
	Groups
	Users
	Subscriptions
	Modules
	Policies
	NamedValues
	AuditLog
	Accounts
	Admins
	AdminSessions
	Certificates
	Close() error
}

// Certificates manages the edge's TLS certificates (certificates.go).
// Writes validate with ParseCertificateUpload; a hostname belongs to one
// certificate at most (ErrConflict otherwise).
type Certificates interface {
	CreateCertificate(ctx context.Context, u CertificateUpload) (Certificate, error)
	// ReplaceCertificate puts a new chain and key under an existing ID.
	ReplaceCertificate(ctx context.Context, id string, u CertificateUpload) (Certificate, error)
	GetCertificate(ctx context.Context, id string) (Certificate, error)
	// ListCertificates returns every certificate without its chain PEM,
	// oldest first.
	ListCertificates(ctx context.Context) ([]Certificate, error)
	DeleteCertificate(ctx context.Context, id string) error
	// CertificateKeyPairs returns every certificate with its key in
	// clear, oldest first: for the TLS listener, never for display.
	CertificateKeyPairs(ctx context.Context) ([]CertificateKeyPair, error)
}

// Accounts keeps what the developer portal needs beyond the catalog
// entities: password hashes, sign-in sessions and one-time reset tokens
// (all stored as hashes only), and subscription renaming by their owner.
// Writes to credentials, sessions and tokens do not bump the catalog
// version: the gateway never reads them.
type Accounts interface {
	// GetUserByEmail finds a user by email, case-insensitively.
	GetUserByEmail(ctx context.Context, email string) (User, error)
	// SetPasswordHash stores (or replaces) a user's password hash.
	SetPasswordHash(ctx context.Context, userID, hash string) error
	// PasswordHash returns a user's password hash; ErrNotFound when the
	// user has none.
	PasswordHash(ctx context.Context, userID string) (string, error)
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns the unexpired session with this ID hash and its
	// user; ErrNotFound otherwise.
	GetSession(ctx context.Context, idHash string) (Session, User, error)
	DeleteSession(ctx context.Context, idHash string) error
	// DeleteUserSessions signs a user out everywhere and returns how many
	// sessions ended.
	DeleteUserSessions(ctx context.Context, userID string) (int, error)
	CreateResetToken(ctx context.Context, t ResetToken) error
	// UseResetToken consumes an unexpired, unused reset token and returns
	// its user ID; a token works once.
	UseResetToken(ctx context.Context, tokenHash string) (userID string, err error)
	// RenameSubscription sets a subscription's display name.
	RenameSubscription(ctx context.Context, id, name string) (Subscription, error)
}
