-- Queues as objects of their own: memory and job-count limits (NULL: none),
-- a pause that stops admission, and deletion. A deleted queue's name stays on
-- its ended jobs, so jobs no longer reference queues: submits check the queue.
ALTER TABLE queues ADD COLUMN max_memory_mb bigint;
ALTER TABLE queues ADD COLUMN max_jobs int;
ALTER TABLE queues ADD COLUMN paused boolean NOT NULL DEFAULT false;
ALTER TABLE jobs DROP CONSTRAINT jobs_queue_fkey;
CREATE INDEX jobs_waiting_by_queue ON jobs (queue, created_ms) WHERE state IN ('QUEUED', 'RETRYING');
