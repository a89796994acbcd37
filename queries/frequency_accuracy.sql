-- frequency_accuracy: per-class accuracy of each model joined with the class's frequency in a mix.
-- Returns one row per (model, dataset, method, prompt, scoring, labelset, version, class_index)
-- of the accuracy table: n, correct, accuracy, the class name/wnid/hypernyms, the mix used, docs
-- (sum over the mix's counted components of weight x documents; NULL when the mix has no counts
-- for this label-set version) with docs_lo / docs_hi and the basis of the counts ('relevant' when
-- every counted component was relevance-judged and no basis is asked for, else 'raw'), and the mix's coverage: components counted / found / uncounted.
-- `ambiguous` is true when any surface form of the class is flagged shared or polysemous.
-- Parameters (NULL means "all"; the mix defaults to each model's own declared mix):
-- @param model VARCHAR = NULL  one model (accuracy.model)
-- @param dataset VARCHAR = NULL  one evaluation dataset
-- @param method VARCHAR = NULL  one inference method
-- @param labelset VARCHAR = NULL  label set name
-- @param version VARCHAR = NULL  label set version
-- @param mix VARCHAR = NULL  use this declared mix (mixes.model) for every model instead of its own
-- @param count_key VARCHAR = NULL  use this single count source instead of a mix
-- @param basis VARCHAR = NULL  'raw' or 'relevant' counts (default: relevant where the mix has them, else raw)
-- DuckDB CLI: SET VARIABLE model = 'ViT-B-32_laion400m'; .read queries/frequency_accuracy.sql
WITH amb AS (
  SELECT labelset, version, class_index, bool_or(len(list_filter(flags, lambda f: f.flag IN ('shared', 'polysemous'))) > 0) AS ambiguous
  FROM surface_forms GROUP BY ALL),
acc AS (
  SELECT a.*, CASE WHEN getvariable('count_key') IS NOT NULL THEN 'source:' || getvariable('count_key')
                   ELSE coalesce(getvariable('mix'), a.model) END AS mix
  FROM accuracy a
  WHERE (getvariable('model') IS NULL OR a.model = getvariable('model'))
    AND (getvariable('dataset') IS NULL OR a.dataset = getvariable('dataset'))
    AND (getvariable('method') IS NULL OR a.method = getvariable('method'))
    AND (getvariable('labelset') IS NULL OR a.labelset = getvariable('labelset'))
    AND (getvariable('version') IS NULL OR a.version = getvariable('version'))),
single AS (
  SELECT 'source:' || count_key AS mix, basis, labelset, version, class_index, docs_est AS docs,
         docs_est_lo AS docs_lo, docs_est_hi AS docs_hi,
         1 AS components_found, 1 AS components_counted, 0 AS components_uncounted
  FROM class_sources WHERE count_key = getvariable('count_key')),
mix_docs AS (
  SELECT * FROM (
    SELECT *, basis = max(basis) OVER (PARTITION BY mix, labelset, version) AS preferred FROM mix_class_docs)
  WHERE basis = getvariable('basis') OR (getvariable('basis') IS NULL AND preferred))
SELECT acc.model, acc.dataset, acc.method, acc.prompt, acc.scoring, acc.labelset, acc.version,
       acc.class_index, c.class_id, c.name, c.hypernyms, acc.n, acc.correct, acc.accuracy,
       acc.origin AS accuracy_origin, acc.mix, md.docs, md.docs_lo, md.docs_hi, md.basis,
       coalesce(md.components_found, 0) AS components_found,
       coalesce(md.components_counted, mc.components_counted, 0) AS components_counted,
       coalesce(md.components_uncounted, mc.components_uncounted, 0) AS components_uncounted,
       coalesce(amb.ambiguous, false) AS ambiguous
FROM acc
JOIN classes c ON c.labelset = acc.labelset AND c.version = acc.version AND c.class_index = acc.class_index
LEFT JOIN (SELECT * EXCLUDE (preferred) FROM mix_docs UNION ALL BY NAME SELECT * FROM single) md
       ON md.mix = acc.mix AND md.labelset = acc.labelset AND md.version = acc.version
      AND md.class_index = acc.class_index
LEFT JOIN (SELECT model AS mix, count(*) FILTER (WHERE counted) AS components_counted,
                  count(*) FILTER (WHERE NOT coalesce(counted, false)) AS components_uncounted
           FROM mixes GROUP BY model) mc ON mc.mix = acc.mix
LEFT JOIN amb ON amb.labelset = acc.labelset AND amb.version = acc.version AND amb.class_index = acc.class_index
ORDER BY acc.model, acc.dataset, acc.method, acc.prompt, acc.scoring, acc.mix, acc.class_index;
