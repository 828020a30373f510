-- Blobs on object storage and stateless replicas (issue 15).
-- An upload session's whole state lives here, so any replica can continue it: the bytes
-- received, the running SHA-256 state, and on object storage the multipart upload, its parts
-- and the tail not yet big enough for a part. `updated_at` is the last PATCH (expiry).
ALTER TABLE registry_uploads ADD COLUMN size BIGINT NOT NULL DEFAULT 0;
ALTER TABLE registry_uploads ADD COLUMN hash_state TEXT;
ALTER TABLE registry_uploads ADD COLUMN object_key TEXT;
ALTER TABLE registry_uploads ADD COLUMN multipart_id TEXT;
ALTER TABLE registry_uploads ADD COLUMN parts TEXT NOT NULL DEFAULT '[]';
ALTER TABLE registry_uploads ADD COLUMN pending BLOB;
ALTER TABLE registry_uploads ADD COLUMN updated_at TEXT;

-- Where each digest's bytes are: the commit point of a blob (a row appears only once its
-- object is whole and verified). `used_at` is the last time anything (an upload, a mount, a
-- manifest) relied on it: garbage collection spares rows used within its grace period.
CREATE TABLE registry_objects (
    digest     TEXT PRIMARY KEY,
    object_key TEXT NOT NULL,
    size       BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    used_at    TEXT NOT NULL
);

-- What the local directory held before: every blob and manifest at blobs/<alg>/<hex>.
INSERT INTO registry_objects (digest, object_key, size, created_at, used_at)
SELECT digest, 'blobs/' || replace(digest, ':', '/'), MAX(size), MIN(created_at), MAX(created_at)
FROM (SELECT digest, size, created_at FROM registry_blobs
      UNION ALL SELECT digest, size, created_at FROM registry_manifests) AS known
GROUP BY digest;

ALTER TABLE registry_blobs ADD COLUMN used_at TEXT;
