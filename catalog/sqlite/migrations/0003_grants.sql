-- Capability grants (issue 9): what an admin granted of a module version's
-- requests. granted_caps and granted_egress are JSON arrays of strings;
-- granted_by is the actor ('' when nothing was ever granted) and
-- granted_at unix nanoseconds (0 then).
ALTER TABLE modules ADD COLUMN granted_caps   TEXT    NOT NULL DEFAULT '[]';
ALTER TABLE modules ADD COLUMN granted_egress TEXT    NOT NULL DEFAULT '[]';
ALTER TABLE modules ADD COLUMN granted_by     TEXT    NOT NULL DEFAULT '';
ALTER TABLE modules ADD COLUMN granted_at     INTEGER NOT NULL DEFAULT 0;

-- Modules uploaded before grants existed keep working: each is granted the
-- capability groups it imports (what upload derived into its manifest),
-- recorded in the audit log as granted by migration.
UPDATE modules SET
    granted_caps = COALESCE(json_extract(manifest, '$.capabilities'), '[]'),
    granted_by   = 'migration',
    granted_at   = CAST(unixepoch('subsec') * 1000000000 AS INTEGER);

INSERT INTO audit_log (at, actor, action, entity, entity_id, detail, version)
SELECT granted_at, 'migration', 'grant', 'module', name || '@' || version,
       'capabilities=' || COALESCE((SELECT group_concat(value, ',') FROM json_each(manifest, '$.capabilities')), ''),
       (SELECT version FROM catalog_version WHERE id = 1)
FROM modules ORDER BY name, version;
