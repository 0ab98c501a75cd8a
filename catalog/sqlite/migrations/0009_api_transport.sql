-- Transport settings per API (catalog.APITransport: backendProtocol,
-- backendTls, clientCertificate, websocket) as a JSON object; '' when
-- none. The backend client key is not here: backendTls names a secret
-- named value holding it.
ALTER TABLE apis ADD COLUMN transport TEXT NOT NULL DEFAULT '';
