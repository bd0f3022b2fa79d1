-- Which admission of the job released its ranks (JobRelease.generation):
-- a StartJob from an older release is stale and changes nothing.
ALTER TABLE jobs ADD COLUMN release_gen int NOT NULL DEFAULT 0;
