-- Edge TLS certificates (catalog/certificates.go, docs/tls.md). The chain
-- is public; the private key is stored only sealed with the master key
-- (AES-256-GCM, bound to the certificate ID). A hostname belongs to one
-- certificate at most: certificate_hostnames enforces it.
CREATE TABLE certificates (
    id          TEXT PRIMARY KEY,
    chain_pem   TEXT NOT NULL,
    key_sealed  BLOB NOT NULL,
    subject     TEXT NOT NULL,
    issuer      TEXT NOT NULL,
    key_type    TEXT NOT NULL,
    chain_len   INTEGER NOT NULL,
    not_before  INTEGER NOT NULL,
    not_after   INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE certificate_hostnames (
    hostname       TEXT PRIMARY KEY,
    certificate_id TEXT NOT NULL REFERENCES certificates (id) ON DELETE CASCADE
);
CREATE INDEX certificate_hostnames_cert ON certificate_hostnames (certificate_id);
