-- The submitter's W3C trace context (traceparent, tracestate), carried into
-- the job's releases so the worker and the job's process join that trace.
ALTER TABLE jobs ADD COLUMN trace jsonb NOT NULL DEFAULT '{}';
