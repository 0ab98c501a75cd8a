-- Developer portal accounts: password hashes, sign-in sessions and
-- admin-issued one-time password reset tokens. None of these is part of
-- the gateway's configuration: writes to them do not bump the catalog
-- version. Secrets are stored only as hashes (bcrypt for passwords,
-- SHA-256 for session and reset tokens).
CREATE TABLE portal_credentials (
    user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE portal_sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX portal_sessions_user ON portal_sessions (user_id);

CREATE TABLE portal_reset_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX portal_reset_tokens_user ON portal_reset_tokens (user_id);
