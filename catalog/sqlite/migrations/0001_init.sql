-- Gatehouse catalog schema, version 1.
-- Times are Unix nanoseconds (INTEGER); booleans are 0/1.

CREATE TABLE catalog_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO catalog_version (id, version) VALUES (1, 0);

CREATE TABLE apis (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL UNIQUE,
    path_prefix           TEXT NOT NULL,
    backend_url           TEXT NOT NULL,
    version               TEXT NOT NULL DEFAULT '',
    revision              INTEGER NOT NULL DEFAULT 1,
    openapi_doc           BLOB,
    subscription_required INTEGER NOT NULL DEFAULT 1,
    key_header            TEXT NOT NULL,
    key_query             TEXT NOT NULL,
    allow_query_key       INTEGER NOT NULL DEFAULT 0,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    UNIQUE (path_prefix, version)
);

CREATE TABLE operations (
    id           TEXT PRIMARY KEY,
    api_id       TEXT NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    method       TEXT NOT NULL,
    url_template TEXT NOT NULL,
    UNIQUE (api_id, name),
    UNIQUE (api_id, method, url_template)
);
CREATE INDEX operations_api ON operations (api_id);

CREATE TABLE products (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    description         TEXT NOT NULL DEFAULT '',
    published           INTEGER NOT NULL DEFAULT 0,
    approval_required   INTEGER NOT NULL DEFAULT 0,
    subscriptions_limit INTEGER NOT NULL DEFAULT 0 CHECK (subscriptions_limit >= 0)
);

CREATE TABLE product_apis (
    product_id TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    api_id     TEXT NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    PRIMARY KEY (product_id, api_id)
);
CREATE INDEX product_apis_api ON product_apis (api_id);

CREATE TABLE groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE users (
    id    TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name  TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'blocked', 'pending'))
);

CREATE TABLE group_users (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_users_user ON group_users (user_id);

-- A subscription's scope target is a real foreign key: product_id or
-- api_id, matching scope. Deleting a user, product or API that still has
-- subscriptions is refused.
CREATE TABLE subscriptions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    name       TEXT NOT NULL DEFAULT '',
    scope      TEXT NOT NULL CHECK (scope IN ('all', 'product', 'api')),
    product_id TEXT REFERENCES products (id),
    api_id     TEXT REFERENCES apis (id),
    state      TEXT NOT NULL CHECK (state IN ('submitted', 'active', 'suspended', 'cancelled', 'expired')),
    expires_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CHECK ((scope = 'all' AND product_id IS NULL AND api_id IS NULL)
        OR (scope = 'product' AND product_id IS NOT NULL AND api_id IS NULL)
        OR (scope = 'api' AND api_id IS NOT NULL AND product_id IS NULL))
);
CREATE INDEX subscriptions_user ON subscriptions (user_id);
CREATE INDEX subscriptions_product ON subscriptions (product_id);
CREATE INDEX subscriptions_api ON subscriptions (api_id);

-- Keys: SHA-256 for lookup, AES-256-GCM (nonce || ciphertext || tag, with
-- the subscription ID and slot as additional data) to show them again.
-- The plaintext is never stored.
CREATE TABLE subscription_keys (
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    slot            TEXT NOT NULL CHECK (slot IN ('primary', 'secondary')),
    key_hash        TEXT NOT NULL UNIQUE,
    key_sealed      BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (subscription_id, slot)
);

CREATE TABLE modules (
    name       TEXT NOT NULL,
    version    TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    wasm       BLOB NOT NULL,
    manifest   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (name, version)
);

-- One policy document per scope; the sections are stored as JSON.
CREATE TABLE policies (
    scope      TEXT NOT NULL CHECK (scope IN ('global', 'product', 'api', 'operation')),
    scope_id   TEXT NOT NULL,
    doc        TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (scope, scope_id)
);

CREATE TRIGGER apis_delete_policies AFTER DELETE ON apis BEGIN
    DELETE FROM policies WHERE scope = 'api' AND scope_id = OLD.id;
END;
CREATE TRIGGER products_delete_policies AFTER DELETE ON products BEGIN
    DELETE FROM policies WHERE scope = 'product' AND scope_id = OLD.id;
END;
CREATE TRIGGER operations_delete_policies AFTER DELETE ON operations BEGIN
    DELETE FROM policies WHERE scope = 'operation' AND scope_id = OLD.id;
END;

-- Secret values are sealed (value is empty, value_sealed holds the
-- AES-GCM ciphertext).
CREATE TABLE named_values (
    name         TEXT PRIMARY KEY,
    value        TEXT NOT NULL DEFAULT '',
    value_sealed BLOB,
    secret       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    detail    TEXT NOT NULL DEFAULT '',
    version   INTEGER NOT NULL
);
