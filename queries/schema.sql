-- The warehouse tables (../shared/DESIGN.md is the contract; keys in comments).
-- Every statement is idempotent so connect() can run this file on any warehouse.

-- key: labelset, version
CREATE TABLE IF NOT EXISTS labelsets (
  labelset VARCHAR, version VARCHAR, source VARCHAR, n_classes INTEGER, built_from VARCHAR);

-- key: labelset, version, class_index
CREATE TABLE IF NOT EXISTS classes (
  labelset VARCHAR, version VARCHAR, class_index INTEGER, class_id VARCHAR, name VARCHAR,
  gloss VARCHAR, hypernyms VARCHAR);

-- key: labelset, version, class_index, form
CREATE TABLE IF NOT EXISTS surface_forms (
  labelset VARCHAR, version VARCHAR, class_index INTEGER, form VARCHAR, origins VARCHAR[],
  lemma_group VARCHAR, flags STRUCT(flag VARCHAR, reason VARCHAR)[]);

-- key: run_id, source, mode, role, labelset, version, class_index, form
-- ambiguous: the form is flagged shared or polysemous (kept apart so queries can exclude it)
CREATE TABLE IF NOT EXISTS counts (
  run_id VARCHAR, source VARCHAR, mode VARCHAR, role VARCHAR, labelset VARCHAR, version VARCHAR,
  class_index INTEGER, form VARCHAR, ambiguous BOOLEAN, docs BIGINT, mentions BIGINT);

-- key: run_id, source, mode, role, labelset, version, class_index
-- docs: distinct documents mentioning the class by any form (computed per class by the counter);
-- docs_clean: the same without shared/polysemous forms. With --sample, docs_est* scale docs up
-- to the whole source with a binomial 95% interval; without it they equal docs.
CREATE TABLE IF NOT EXISTS class_counts (
  run_id VARCHAR, source VARCHAR, mode VARCHAR, role VARCHAR, labelset VARCHAR, version VARCHAR,
  class_index INTEGER, docs BIGINT, docs_clean BIGINT, mentions BIGINT, sample_fraction DOUBLE,
  docs_est DOUBLE, docs_est_lo DOUBLE, docs_est_hi DOUBLE);

-- key: run_id, source
-- invariant: docs_read = docs_matched + docs_unmatched + docs_quarantined
CREATE TABLE IF NOT EXISTS source_stats (
  run_id VARCHAR, source VARCHAR, mode VARCHAR, labelset VARCHAR, version VARCHAR,
  docs_read BIGINT, docs_matched BIGINT, docs_unmatched BIGINT, docs_quarantined BIGINT,
  duplicates_dropped BIGINT, files_failed BIGINT, sample_fraction DOUBLE);

-- key: run_id, source, reason, file
CREATE TABLE IF NOT EXISTS quarantine (
  run_id VARCHAR, source VARCHAR, mode VARCHAR, labelset VARCHAR, version VARCHAR,
  reason VARCHAR, n BIGINT, example VARCHAR, file VARCHAR);

-- key: run_id, source, doc_id, class_index, form
CREATE TABLE IF NOT EXISTS doc_matches (
  run_id VARCHAR, source VARCHAR, mode VARCHAR, labelset VARCHAR, version VARCHAR,
  doc_id VARCHAR, class_index INTEGER, form VARCHAR, url VARCHAR, text VARCHAR,
  nsfw VARCHAR, punsafe DOUBLE);

-- key: origin, corpus, labelset, version, class_index
CREATE TABLE IF NOT EXISTS imported_counts (
  origin VARCHAR, corpus VARCHAR, labelset VARCHAR, version VARCHAR, class_index INTEGER,
  docs BIGINT, method VARCHAR);

-- key: model, dataset, method, prompt, scoring, labelset, version, class_index
CREATE TABLE IF NOT EXISTS accuracy (
  model VARCHAR, dataset VARCHAR, method VARCHAR, prompt VARCHAR, scoring VARCHAR,
  labelset VARCHAR, version VARCHAR, class_index INTEGER, n BIGINT, correct BIGINT,
  accuracy DOUBLE, origin VARCHAR, run_id VARCHAR);

-- key: model, component
-- source_kind: 'ours' (counts/class_counts.source) or 'imported' (imported_counts origin:corpus)
CREATE TABLE IF NOT EXISTS mixes (
  model VARCHAR, component VARCHAR, source_kind VARCHAR, source VARCHAR, weight DOUBLE,
  counted BOOLEAN, note VARCHAR);

-- key: run_id
CREATE TABLE IF NOT EXISTS runs (
  run_id VARCHAR, kind VARCHAR, started TIMESTAMP, finished TIMESTAMP, inputs JSON, options JSON,
  code_version VARCHAR, labelset VARCHAR, labelset_version VARCHAR);
