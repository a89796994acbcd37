-- prompt_names: the best prompt name per class = its most frequent lemma group in our counts.
-- Forms flagged shared or polysemous are excluded (their documents may be about another class);
-- inflections of one lemma are grouped. Per-form document counts are summed over the group and
-- over the chosen sources (a document using two forms of one group counts twice: a ranking score,
-- not a document count). When the relevance judge looked at a run, each form's documents count
-- as relevant documents: scaled by the judged-relevant share of its judged matches (the class's
-- corrected relevant_share when none of the form's matches was judged), rounded; a run never
-- judged counts as before. Returns one row per (labelset, version, class_index): display name,
-- best_lemma_group, its docs, the display name's own group docs, differs (advice worth giving),
-- and the runner-up group.
-- @param labelset VARCHAR = NULL  label set name
-- @param source VARCHAR = NULL  one of our counted sources (counts.source); NULL: all of them
-- @param mode VARCHAR = default  counting mode
-- DuckDB CLI: .read queries/prompt_names.sql
WITH latest AS (
  SELECT k.source, k.mode, coalesce(k.role, 'all') AS role, k.labelset, k.version,
         arg_max(k.run_id, coalesce(r.started, TIMESTAMP '1970-01-01')) AS run_id
  FROM counts k LEFT JOIN runs r ON r.run_id = k.run_id
  GROUP BY ALL),
judged_forms AS (  -- per run, class and form: the share of its judged matches judged relevant
  SELECT run_id, class_index, form, avg(CAST(relevant AS DOUBLE)) AS relevant_share
  FROM doc_matches WHERE relevant IS NOT NULL
  GROUP BY ALL),
form_docs AS (
  SELECT k.labelset, k.version, k.class_index, k.form,
         sum(CASE WHEN coalesce(j.relevant_share, cc.relevant_share) IS NULL THEN k.docs
                  ELSE CAST(round(k.docs * coalesce(j.relevant_share, cc.relevant_share)) AS BIGINT) END) AS docs
  FROM counts k JOIN latest l ON l.run_id = k.run_id AND l.source = k.source AND l.mode = k.mode
       AND l.role = coalesce(k.role, 'all') AND l.labelset = k.labelset AND l.version = k.version
  LEFT JOIN judged_forms j ON j.run_id = k.run_id AND j.class_index = k.class_index AND j.form = k.form
  LEFT JOIN class_counts cc ON cc.run_id = k.run_id AND cc.source = k.source AND cc.mode = k.mode
       AND coalesce(cc.role, 'all') = 'all' AND cc.labelset = k.labelset AND cc.version = k.version
       AND cc.class_index = k.class_index
  WHERE k.mode = coalesce(getvariable('mode'), 'default')
    AND (getvariable('source') IS NULL OR k.source = getvariable('source'))
    AND (getvariable('labelset') IS NULL OR k.labelset = getvariable('labelset'))
    AND l.role = 'all'
  GROUP BY ALL),
groups AS (
  SELECT f.labelset, f.version, f.class_index, f.lemma_group,
         sum(coalesce(d.docs, 0)) AS docs,
         bool_or(list_contains(f.origins, 'clip_name')) AS has_display_name,
         string_agg(f.form, ', ' ORDER BY f.form) AS forms
  FROM surface_forms f
  LEFT JOIN form_docs d ON d.labelset = f.labelset AND d.version = f.version
       AND d.class_index = f.class_index AND d.form = f.form
  WHERE len(list_filter(f.flags, lambda x: x.flag IN ('shared', 'polysemous'))) = 0
    AND (getvariable('labelset') IS NULL OR f.labelset = getvariable('labelset'))
  GROUP BY ALL),
ranked AS (
  SELECT *, row_number() OVER (PARTITION BY labelset, version, class_index ORDER BY docs DESC, lemma_group) AS r
  FROM groups)
SELECT c.labelset, c.version, c.class_index, c.class_id, c.name,
       b.lemma_group AS best_lemma_group, b.docs AS best_docs, b.forms AS best_forms,
       (SELECT max(g.docs) FROM groups g WHERE g.labelset = c.labelset AND g.version = c.version
          AND g.class_index = c.class_index AND g.lemma_group = lower(c.name)) AS display_name_docs,
       b.lemma_group IS NOT NULL AND b.docs > 0 AND b.lemma_group <> lower(c.name) AS differs,
       s.lemma_group AS runner_up, s.docs AS runner_up_docs
FROM classes c
LEFT JOIN ranked b ON b.labelset = c.labelset AND b.version = c.version AND b.class_index = c.class_index AND b.r = 1
LEFT JOIN ranked s ON s.labelset = c.labelset AND s.version = c.version AND s.class_index = c.class_index AND s.r = 2
WHERE getvariable('labelset') IS NULL OR c.labelset = getvariable('labelset')
ORDER BY c.labelset, c.version, c.class_index;
