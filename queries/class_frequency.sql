-- class_frequency: how often each class occurs in each count source, raw and per million documents.
-- Returns one row per (count_key, labelset, version, class_index): the class name, docs (documents
-- observed), docs_est with its 95% interval (scaled up for --sample runs; equal to docs otherwise),
-- corpus_docs (documents read, scaled for samples; nominal size for imported corpora),
-- docs_per_million, docs_clean (our counter: without shared/polysemous forms) and the rank of the
-- class within its source (1 = most frequent).
-- Parameters (DuckDB variables; NULL means "all"; `classfreq query` sets the defaults below):
-- @param labelset VARCHAR = NULL  label set name, e.g. imagenet1k
-- @param version VARCHAR = NULL  label set version
-- @param count_key VARCHAR = NULL  one count source, e.g. imported:bethgelab:laion400m:lemmatized
-- @param source_kind VARCHAR = NULL  'ours' or 'imported'
-- DuckDB CLI: SET VARIABLE labelset = 'imagenet1k'; .read queries/class_frequency.sql
SELECT s.count_key, s.source_kind, s.source, s.method, s.role, s.labelset, s.version,
       s.class_index, c.class_id, c.name, s.docs, s.docs_clean, s.mentions,
       s.docs_est, s.docs_est_lo, s.docs_est_hi, s.sample_fraction, s.corpus_docs,
       s.docs_per_million,
       rank() OVER (PARTITION BY s.count_key, s.labelset, s.version ORDER BY s.docs_est DESC) AS rank_in_source,
       s.run_id
FROM class_sources s
JOIN classes c ON c.labelset = s.labelset AND c.version = s.version AND c.class_index = s.class_index
WHERE (getvariable('labelset') IS NULL OR s.labelset = getvariable('labelset'))
  AND (getvariable('version') IS NULL OR s.version = getvariable('version'))
  AND (getvariable('count_key') IS NULL OR s.count_key = getvariable('count_key'))
  AND (getvariable('source_kind') IS NULL OR s.source_kind = getvariable('source_kind'))
ORDER BY s.count_key, s.labelset, s.version, s.class_index;
