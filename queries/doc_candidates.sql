-- doc_candidates: documents (with URLs) that mention a class, from scanned sources OUTSIDE a mix,
-- ranked for mining extra training examples.
-- Rows flagged unsafe by their source are excluded: LAION's NSFW column 'NSFW' or 'UNSURE', or
-- punsafe above max_punsafe; rows without a URL are excluded (nothing to download). Every source
-- named by any component of the mix (counted or not) is excluded. Ranking within a class: matched
-- by a form that is not shared/polysemous first, then documents matching fewer classes (more
-- specific), then shorter captions, then doc_id (deterministic).
-- When the relevance judge looked at a run (`count --relevance`, `judge-run`), only its documents
-- judged relevant are candidates (a judged run's unjudged and irrelevant matches are left out),
-- and p_relevant is the judge's probability (the highest over the document's forms); for a run
-- never judged every match stays a candidate with p_relevant NULL.
-- Returns one row per (class_index, doc_id, source): url, caption, source, form, ambiguous_form,
-- classes_in_doc, rank_in_class, p_relevant. Take the top k * oversampling per class (the recommender does).
-- @param mix VARCHAR = NULL  the mix whose sources are excluded (mixes.model); NULL: exclude none
-- @param labelset VARCHAR = NULL  label set name
-- @param version VARCHAR = NULL  label set version
-- @param classes VARCHAR = NULL  comma-separated class indices; NULL: all classes
-- @param max_punsafe DOUBLE = 0.1  drop rows whose punsafe is above this
-- @param per_class INTEGER = NULL  keep at most this many per class; NULL: all
-- DuckDB CLI: SET VARIABLE mix = 'ViT-B-32_laion400m'; .read queries/doc_candidates.sql
WITH excluded AS (
  SELECT DISTINCT split_part(source, ':', 2) AS source
  FROM mixes WHERE source_kind = 'ours' AND model = getvariable('mix')),
flag AS (
  SELECT labelset, version, class_index, form,
         len(list_filter(flags, lambda x: x.flag IN ('shared', 'polysemous'))) > 0 AS ambiguous_form
  FROM surface_forms),
judged_runs AS (
  SELECT DISTINCT run_id FROM doc_matches WHERE p_relevant IS NOT NULL),
m AS (
  SELECT d.*, coalesce(f.ambiguous_form, false) AS ambiguous_form,
         count(DISTINCT d.class_index) OVER (PARTITION BY d.source, d.doc_id, d.run_id) AS classes_in_doc
  FROM doc_matches d
  LEFT JOIN flag f ON f.labelset = d.labelset AND f.version = d.version AND f.class_index = d.class_index AND f.form = d.form
  WHERE d.source NOT IN (SELECT source FROM excluded)
    AND d.url IS NOT NULL AND d.url <> ''
    AND coalesce(d.relevant, NOT EXISTS (SELECT 1 FROM judged_runs j WHERE j.run_id = d.run_id))
    AND upper(coalesce(d.nsfw, '')) NOT IN ('NSFW', 'UNSURE')
    AND coalesce(d.punsafe, 0) <= coalesce(getvariable('max_punsafe'), 0.1)
    AND (getvariable('labelset') IS NULL OR d.labelset = getvariable('labelset'))
    AND (getvariable('version') IS NULL OR d.version = getvariable('version'))
    AND (getvariable('classes') IS NULL OR
         list_contains(list_transform(string_split(getvariable('classes'), ','), lambda x: TRY_CAST(trim(x) AS INTEGER)), d.class_index))),
one AS (  -- a document matched through several forms of a class is one candidate
  SELECT labelset, version, class_index, source, doc_id, any_value(url) AS url, any_value(text) AS caption,
         string_agg(DISTINCT form, ', ' ORDER BY form) AS form, bool_and(ambiguous_form) AS ambiguous_form,
         any_value(classes_in_doc) AS classes_in_doc, any_value(nsfw) AS nsfw, any_value(punsafe) AS punsafe,
         max(p_relevant) AS p_relevant
  FROM m GROUP BY labelset, version, class_index, source, doc_id),
ranked AS (
  SELECT one.*, c.name AS class_name,
         row_number() OVER (PARTITION BY one.labelset, one.version, one.class_index
                            ORDER BY ambiguous_form, classes_in_doc, length(coalesce(caption, '')), source, doc_id) AS rank_in_class
  FROM one JOIN classes c ON c.labelset = one.labelset AND c.version = one.version AND c.class_index = one.class_index)
SELECT labelset, version, class_index, class_name, rank_in_class, url, caption, source, doc_id, form,
       ambiguous_form, classes_in_doc, nsfw, punsafe, p_relevant
FROM ranked
WHERE getvariable('per_class') IS NULL OR rank_in_class <= getvariable('per_class')
ORDER BY labelset, version, class_index, rank_in_class;
