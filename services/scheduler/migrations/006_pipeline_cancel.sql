-- CancelPipeline: its steps stop and none starts; listings filter by state, newest first.
ALTER TABLE pipelines ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false;
CREATE INDEX pipelines_by_state ON pipelines (state, pipeline_id DESC);
