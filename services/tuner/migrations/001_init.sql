-- Studies and their trials: the tuner's own record of a search. Optuna's
-- in-memory study is rebuilt from these (see optimizer.py); nothing else
-- is kept anywhere.
CREATE TABLE studies (
    seq            bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    study_id       uuid PRIMARY KEY,
    name           text NOT NULL UNIQUE,
    spec           bytea NOT NULL,             -- StudySpec, defaults filled in
    state          text NOT NULL,              -- RUNNING COMPLETED FAILED STOPPED
    message        text NOT NULL DEFAULT '',
    run_id         text NOT NULL DEFAULT '',   -- the parent tracking run
    experiment_id  text NOT NULL DEFAULT '',
    best_number    int,                        -- single objective: the best completed trial
    best_value     float8,
    created_ms     bigint NOT NULL,
    finished_ms    bigint NOT NULL DEFAULT 0
);
CREATE INDEX studies_running ON studies (seq) WHERE state = 'RUNNING';

CREATE TABLE trials (
    study_id      uuid NOT NULL REFERENCES studies (study_id) ON DELETE CASCADE,
    number        int NOT NULL,
    state         text NOT NULL,               -- RUNNING COMPLETED PRUNED FAILED
    params        jsonb NOT NULL,              -- name -> value
    "values"      float8[] NOT NULL DEFAULT '{}',
    run_id        text NOT NULL DEFAULT '',
    job_id        text NOT NULL DEFAULT '',
    -- How the trial's job ended (succeeded, failed, cancelled), as its event
    -- told; the study's driver finishes the trial from it.
    job_outcome   text,
    job_message   text NOT NULL DEFAULT '',
    message       text NOT NULL DEFAULT '',
    last_step     bigint NOT NULL DEFAULT -1,
    last_value    float8 NOT NULL DEFAULT 0,
    system_attrs  jsonb NOT NULL DEFAULT '{}', -- the pruner's and sampler's bookkeeping
    started_ms    bigint NOT NULL,
    finished_ms   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (study_id, number)
);
CREATE UNIQUE INDEX trials_by_run ON trials (run_id) WHERE run_id <> '';
CREATE INDEX trials_running ON trials (study_id) WHERE state = 'RUNNING';

-- Intermediate values of the first objective, as the trials logged them.
CREATE TABLE trial_steps (
    seq        bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    study_id   uuid NOT NULL,
    number     int NOT NULL,
    step       bigint NOT NULL,
    value      float8 NOT NULL,
    PRIMARY KEY (study_id, number, step),
    FOREIGN KEY (study_id, number) REFERENCES trials (study_id, number) ON DELETE CASCADE
);
CREATE INDEX trial_steps_by_seq ON trial_steps (study_id, seq);
