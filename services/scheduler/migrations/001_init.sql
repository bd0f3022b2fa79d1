CREATE TABLE queues (
    name      text PRIMARY KEY,
    max_cpus  float8,            -- NULL: no quota
    max_gpus  int
);
INSERT INTO queues (name) VALUES ('default');

CREATE TABLE jobs (
    seq               bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    job_id            uuid PRIMARY KEY,
    spec              bytea NOT NULL,          -- JobSpec
    name              text NOT NULL,
    pool              text NOT NULL,
    queue             text NOT NULL REFERENCES queues (name),
    priority          int NOT NULL,
    cpus              float8 NOT NULL,
    memory_mb         bigint NOT NULL,
    gpus              int NOT NULL,
    gang_size         int NOT NULL,
    state             text NOT NULL,
    attempt           int NOT NULL DEFAULT 0,
    retries           int NOT NULL DEFAULT 0,
    worker_losses     int NOT NULL DEFAULT 0,
    exit_code         int,
    message           text NOT NULL DEFAULT '',
    worker_id         text NOT NULL DEFAULT '',
    run_id            text NOT NULL DEFAULT '',
    cancel_requested  boolean NOT NULL DEFAULT false,
    master_addr       text NOT NULL DEFAULT '',
    master_port       int NOT NULL DEFAULT 0,
    started_ranks     int[] NOT NULL DEFAULT '{}',
    finished_ranks    int NOT NULL DEFAULT 0,
    created_ms        bigint NOT NULL,
    started_ms        bigint NOT NULL DEFAULT 0,
    finished_ms       bigint NOT NULL DEFAULT 0
);
CREATE INDEX jobs_pending ON jobs (priority DESC, seq) WHERE state IN ('QUEUED', 'RETRYING');
CREATE INDEX jobs_active ON jobs (queue) WHERE state IN ('ADMITTED', 'RUNNING');
CREATE INDEX jobs_by_seq ON jobs (seq DESC);

-- Admitted jobs waiting to be put on their pool's stream (a second outbox).
CREATE TABLE releases (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id       uuid NOT NULL,
    pool         text NOT NULL,
    rank         int NOT NULL,
    payload      bytea NOT NULL,               -- JobRelease
    published_at timestamptz
);
CREATE INDEX releases_pending ON releases (id) WHERE published_at IS NULL;

CREATE TABLE workers (
    worker_id  text PRIMARY KEY,
    pool       text NOT NULL,
    host       text NOT NULL,
    cpus       float8 NOT NULL,
    memory_mb  bigint NOT NULL,
    gpus       int NOT NULL,
    gpu_type   text NOT NULL,
    last_seen  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE job_logs (
    seq      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id   uuid NOT NULL,
    attempt  int NOT NULL,
    rank     int NOT NULL,
    stream   text NOT NULL,
    text     text NOT NULL
);
CREATE INDEX job_logs_by_job ON job_logs (job_id, seq);
