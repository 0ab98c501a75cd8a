-- Named admin accounts with roles, bcrypt password hashes and personal API
-- tokens (stored as the hex SHA-256 of the token only). None of these is
-- part of the gateway's configuration: writes to them are audited but do
-- not bump the catalog version.
CREATE TABLE admins (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    state         TEXT NOT NULL CHECK (state IN ('active', 'blocked')),
    password_hash TEXT,
    created_at    INTEGER NOT NULL
);

CREATE TABLE admin_tokens (
    id         TEXT PRIMARY KEY,
    admin_id   TEXT NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    prefix     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX admin_tokens_admin ON admin_tokens (admin_id);
