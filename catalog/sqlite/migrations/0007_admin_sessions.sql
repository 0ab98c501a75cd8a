-- Admin portal sessions (stored as the SHA-256 of the session token only)
-- with an absolute expiry and the last use for the idle timeout, and the
-- last use of admin personal tokens. Not part of the gateway's
-- configuration: writes do not bump the catalog version.
CREATE TABLE admin_sessions (
    id_hash      TEXT PRIMARY KEY,
    admin_id     TEXT NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    user_agent   TEXT NOT NULL,
    addr         TEXT NOT NULL
);
CREATE INDEX admin_sessions_admin ON admin_sessions (admin_id);

ALTER TABLE admin_tokens ADD COLUMN last_used_at INTEGER;
