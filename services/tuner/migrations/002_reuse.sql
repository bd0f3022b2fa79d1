-- Reused trial processes (StudySpec.reuse_processes): the study's driver
-- queues trials (asked, with their run) that long-lived runner jobs claim.
-- trials.runner: NULL for a trial that is a job of its own, -1 while queued,
-- else the index of the runner that claimed it.
ALTER TABLE trials ADD COLUMN runner int;
-- The values a runner reported with the trial's end (job_outcome says how).
ALTER TABLE trials ADD COLUMN reported_values float8[] NOT NULL DEFAULT '{}';
CREATE INDEX trials_queued ON trials (study_id, number) WHERE runner = -1 AND state = 'RUNNING';

-- A study's runner jobs, one row each, numbered from 0 in launch order.
CREATE TABLE runners (
    study_id   uuid NOT NULL REFERENCES studies (study_id) ON DELETE CASCADE,
    runner     int NOT NULL,
    job_id     text NOT NULL DEFAULT '',
    outcome    text,                        -- how its job ended; NULL while it lives
    message    text NOT NULL DEFAULT '',
    PRIMARY KEY (study_id, runner)
);
