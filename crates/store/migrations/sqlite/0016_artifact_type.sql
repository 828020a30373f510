-- Freestyle artifacts (issue 28): a build is a container image (`docker_image`) or a file kept
-- in the built-in registry (`freestyle`); `file` is the file's name, size and digest (JSON).
ALTER TABLE artifacts ADD COLUMN artifact_type TEXT NOT NULL DEFAULT 'docker_image';
ALTER TABLE artifacts ADD COLUMN file TEXT;
