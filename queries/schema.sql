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
-- The relevance stage (count --relevance, or `classfreq relevance` on an existing run) fills the
-- columns below; they are NULL for a class no judge looked at. relevance_judged pairs were judged
-- (a seeded sample of the class's matched documents), relevance_p_mean is their mean probability,
-- relevant_share* the mean calibrated probability with its 95% interval (class-level calibration
-- error measured by grouped CV, outcome and sampling variance; relevance/estimate.py), and
-- docs_relevant_* = share x docs_est with the interval carried through.
ALTER TABLE class_counts ADD COLUMN IF NOT EXISTS relevance_judge VARCHAR;
ALTER TABLE class_counts ADD COLUMN IF NOT EXISTS relevance_judged BIGINT;
ALTER TABLE class_counts ADD COLUMN IF NOT EXISTS relevance_p_mean DOUBLE;
ALTER TABLE class_counts ADD COLUMN IF NOT EXISTS relevant_share DOUBLE;
ALTER TABLE class_counts ADD COLUMN IF NOT EXISTS relevant_share_lo DOUBLE;
ALTER TABLE class_counts ADD COLUMN IF NOT EXISTS relevant_share_hi DOUBLE;
ALTER TABLE class_counts ADD COLUMN IF NOT EXISTS docs_relevant_est DOUBLE;
ALTER TABLE class_counts ADD COLUMN IF NOT EXISTS docs_relevant_lo DOUBLE;
ALTER TABLE class_counts ADD COLUMN IF NOT EXISTS docs_relevant_hi DOUBLE;

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
-- p_relevant: the relevance judge's probability for this match (NULL: not judged); relevant: p >= 0.5
ALTER TABLE doc_matches ADD COLUMN IF NOT EXISTS p_relevant DOUBLE;
ALTER TABLE doc_matches ADD COLUMN IF NOT EXISTS relevant BOOLEAN;

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
-- phase_seconds: seconds per phase of a count run (session, listing, reading, count, collecting,
-- parquet:<table>, warehouse, publish), JSON in the order they ran
ALTER TABLE runs ADD COLUMN IF NOT EXISTS phase_seconds JSON;

-- key: model, dataset, method, prompt, scoring, labelset, version, n_way, seed, class_index
-- Label-space size (the study's N-way test): each image classified among its true class and
-- n_way - 1 other classes drawn with `seed`. Kept out of `accuracy` so the headline analysis
-- (all classes offered) never mixes them in.
CREATE TABLE IF NOT EXISTS nway_accuracy (
  model VARCHAR, dataset VARCHAR, method VARCHAR, prompt VARCHAR, scoring VARCHAR,
  labelset VARCHAR, version VARCHAR, n_way INTEGER, seed BIGINT, class_index INTEGER, n BIGINT,
  correct BIGINT, accuracy DOUBLE, origin VARCHAR, run_id VARCHAR);

-- ---------------------------------------------------------------------------------------------
-- Views over the tables above (added by the reports area; queries/*.sql read them). Each count
-- source is one `count_key`: 'ours:<source>:<mode>:<role>' for our counter (its newest run per
-- slice) or 'imported:<origin>:<corpus>:<method>' for published counts. Every source gets a row
-- for every class of its label set (0 where the class was never matched), so no class goes
-- missing from a join. Mix components (mixes.source) name a count_key.

-- key: count_key, labelset, version, class_index
CREATE OR REPLACE VIEW class_sources AS
WITH our_slices AS (
  SELECT cc.source, cc.mode, coalesce(cc.role, 'all') AS role, cc.labelset, cc.version,
         arg_max(cc.run_id, coalesce(r.started, TIMESTAMP '1970-01-01')) AS run_id
  FROM class_counts cc LEFT JOIN runs r ON r.run_id = cc.run_id
  GROUP BY cc.source, cc.mode, coalesce(cc.role, 'all'), cc.labelset, cc.version),
import_runs AS (
  SELECT options ->> '$.origin' AS origin, options ->> '$.corpus' AS corpus,
         options ->> '$.method' AS method, labelset, labelset_version AS version,
         arg_max(run_id, started) AS run_id,
         arg_max(TRY_CAST(options ->> '$.corpus_docs' AS DOUBLE), started) AS corpus_docs
  FROM runs WHERE kind = 'import-counts'
  GROUP BY ALL),
imported_slices AS (
  SELECT DISTINCT i.origin, i.corpus, i.method, i.labelset, i.version, r.run_id, r.corpus_docs
  FROM imported_counts i
  LEFT JOIN import_runs r ON r.origin = i.origin AND r.corpus = i.corpus
       AND r.method IS NOT DISTINCT FROM i.method AND r.labelset = i.labelset AND r.version = i.version),
ours AS (
  SELECT 'ours:' || l.source || ':' || l.mode || ':' || l.role AS count_key, 'ours' AS source_kind,
         l.source, l.mode AS method, l.role, l.labelset, l.version, c.class_index, l.run_id,
         coalesce(cc.docs, 0) AS docs, coalesce(cc.docs_clean, 0) AS docs_clean, cc.mentions,
         CASE WHEN cc.run_id IS NOT NULL THEN coalesce(cc.docs_est, cc.docs)
              WHEN coalesce(s.sample_fraction, 1) >= 1 THEN 0 END AS docs_est,
         CASE WHEN cc.run_id IS NOT NULL THEN coalesce(cc.docs_est_lo, cc.docs)
              WHEN coalesce(s.sample_fraction, 1) >= 1 THEN 0 END AS docs_est_lo,
         CASE WHEN cc.run_id IS NOT NULL THEN coalesce(cc.docs_est_hi, cc.docs)
              WHEN coalesce(s.sample_fraction, 1) >= 1 THEN 0 END AS docs_est_hi,
         s.sample_fraction, s.docs_read,
         s.docs_read / coalesce(nullif(s.sample_fraction, 0), 1) AS corpus_docs
  FROM our_slices l
  JOIN classes c ON c.labelset = l.labelset AND c.version = l.version
  LEFT JOIN class_counts cc ON cc.run_id = l.run_id AND cc.source = l.source AND cc.mode = l.mode
       AND coalesce(cc.role, 'all') = l.role AND cc.labelset = l.labelset AND cc.version = l.version
       AND cc.class_index = c.class_index
  LEFT JOIN source_stats s ON s.run_id = l.run_id AND s.source = l.source),
judged_slices AS (
  SELECT DISTINCT l.* FROM our_slices l JOIN class_counts cc ON cc.run_id = l.run_id AND cc.source = l.source
       AND cc.mode = l.mode AND coalesce(cc.role, 'all') = l.role AND cc.labelset = l.labelset
       AND cc.version = l.version
  WHERE cc.relevance_judge IS NOT NULL),
-- the same slice counted as relevant documents only (issue 8). A class with no match (no
-- class_counts row, or its row with docs 0, which no judge looks at) has the raw slice's values:
-- 0, with a sampled run's upper bound (a share is at most 1); NULL where it matched but no judge
-- looked at it
relevant AS (
  SELECT o.count_key || ':relevant' AS count_key, o.source_kind, o.source, o.method, o.role, o.labelset,
         o.version, o.class_index, o.run_id,
         CASE WHEN cc.run_id IS NULL OR cc.docs = 0 THEN o.docs ELSE round(cc.docs_relevant_est)::BIGINT END AS docs,
         o.docs_clean, o.mentions,
         CASE WHEN cc.run_id IS NULL OR cc.docs = 0 THEN o.docs_est ELSE cc.docs_relevant_est END AS docs_est,
         CASE WHEN cc.run_id IS NULL OR cc.docs = 0 THEN o.docs_est_lo ELSE cc.docs_relevant_lo END AS docs_est_lo,
         CASE WHEN cc.run_id IS NULL OR cc.docs = 0 THEN o.docs_est_hi ELSE cc.docs_relevant_hi END AS docs_est_hi,
         o.sample_fraction, o.docs_read, o.corpus_docs
  FROM ours o
  JOIN judged_slices j ON o.run_id = j.run_id AND o.source = j.source AND o.method = j.mode AND o.role = j.role
       AND o.labelset = j.labelset AND o.version = j.version
  LEFT JOIN class_counts cc ON cc.run_id = o.run_id AND cc.source = o.source AND cc.mode = o.method
       AND coalesce(cc.role, 'all') = o.role AND cc.labelset = o.labelset AND cc.version = o.version
       AND cc.class_index = o.class_index),
imported AS (
  SELECT 'imported:' || l.origin || ':' || l.corpus || ':' || coalesce(l.method, '') AS count_key,
         'imported' AS source_kind, l.origin || ':' || l.corpus AS source, l.method, NULL AS role,
         l.labelset, l.version, c.class_index, l.run_id,
         coalesce(i.docs, 0) AS docs, NULL::BIGINT AS docs_clean, NULL::BIGINT AS mentions,
         coalesce(i.docs, 0)::DOUBLE AS docs_est, coalesce(i.docs, 0)::DOUBLE AS docs_est_lo,
         coalesce(i.docs, 0)::DOUBLE AS docs_est_hi, NULL::DOUBLE AS sample_fraction,
         NULL::BIGINT AS docs_read, l.corpus_docs
  FROM imported_slices l
  JOIN classes c ON c.labelset = l.labelset AND c.version = l.version
  LEFT JOIN imported_counts i ON i.origin = l.origin AND i.corpus = l.corpus
       AND i.method IS NOT DISTINCT FROM l.method AND i.labelset = l.labelset
       AND i.version = l.version AND i.class_index = c.class_index)
SELECT *, 'raw' AS basis, docs_est / nullif(corpus_docs, 0) * 1e6 AS docs_per_million FROM ours
UNION ALL BY NAME
SELECT *, 'relevant' AS basis, docs_est / nullif(corpus_docs, 0) * 1e6 AS docs_per_million FROM relevant
UNION ALL BY NAME
SELECT *, 'raw' AS basis, docs_est / nullif(corpus_docs, 0) * 1e6 AS docs_per_million FROM imported;

-- key: mix, basis, labelset, version, class_index. docs = sum over the mix's counted components of
-- weight (epochs or sampling weight, default 1) x the component's (estimated) documents; docs_lo /
-- docs_hi the same sum of the components' interval ends. basis 'raw': every document that matched;
-- basis 'relevant': only where every counted component found for the label-set version has a
-- relevance-judged variant (count_key || ':relevant'), the sum of those. A component that names a
-- ':relevant' key is counted as relevant documents on both bases, so a mix whose every counted
-- component does has basis 'relevant' only.
CREATE OR REPLACE VIEW mix_class_docs AS
WITH comp AS (
  SELECT model AS mix, count(*) FILTER (WHERE counted) AS components_counted,
         count(*) FILTER (WHERE NOT counted OR counted IS NULL) AS components_uncounted,
         count(*) FILTER (WHERE counted AND source LIKE 'ours:%:relevant') AS components_relevant
  FROM mixes GROUP BY model),
variants AS (
  SELECT model AS mix, source AS component_key, coalesce(weight, 1) AS weight, 'raw' AS basis,
         source AS count_key FROM mixes WHERE counted
  UNION ALL
  SELECT model, source, coalesce(weight, 1), 'relevant',
         CASE WHEN source LIKE 'ours:%:relevant' THEN source ELSE source || ':relevant' END
  FROM mixes WHERE counted),
per_class AS (
  SELECT v.mix, v.basis, v.component_key, v.weight, s.labelset, s.version, s.class_index, s.docs_est,
         s.docs_est_lo, s.docs_est_hi
  FROM variants v JOIN class_sources s ON s.count_key = v.count_key),
found AS (
  SELECT mix, labelset, version, basis, count(DISTINCT component_key) AS n FROM per_class GROUP BY ALL),
complete AS (
  SELECT f.mix, f.labelset, f.version, f.basis FROM found f
  JOIN found r ON r.mix = f.mix AND r.labelset = f.labelset AND r.version = f.version AND r.basis = 'raw'
  WHERE f.n = r.n)
SELECT p.mix, p.basis, p.labelset, p.version, p.class_index,
       sum(p.weight * p.docs_est) AS docs, sum(p.weight * p.docs_est_lo) AS docs_lo,
       sum(p.weight * p.docs_est_hi) AS docs_hi,
       count(DISTINCT p.component_key) AS components_found,
       any_value(comp.components_counted) AS components_counted,
       any_value(comp.components_uncounted) AS components_uncounted
FROM per_class p
JOIN complete USING (mix, labelset, version, basis)
JOIN comp ON comp.mix = p.mix
WHERE p.basis = 'relevant' OR comp.components_relevant < comp.components_counted
GROUP BY p.mix, p.basis, p.labelset, p.version, p.class_index;
