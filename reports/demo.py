"""`classfreq demo`: end to end on the real data in ../shared/data.

1. the imagenet1k label set into the warehouse;
2. our Spark counter over ../shared/data/captions (CC3M val, COCO val2017, Flickr8k, the LAION-400M
   sample), keeping matching documents with URLs for mining, and (unless --no-relevance) judging a
   sample of each class's matches for relevance;
3. bethgelab's published counts (LAION-400M, CC3M, CC12M, YFCC15M) as imported count sources;
4. the published per-class ImageNet accuracies of the CLIP models trained on LAION-400M;
5. their declared training mix: LAION-400M (imported counts);
6. the analysis, recommendations and the HTML report.
"""
from __future__ import annotations

import time
from pathlib import Path

from classfreq.errors import UserError
from classfreq.models.imports import import_bethgelab_accuracies, pretraining_dataset
from classfreq.queries.imports import import_bethgelab_counts
from classfreq.queries.labelsets import ensure_labelset_tables
from classfreq.queries.mixes import read_mix_file, write_mixes
from classfreq.queries.warehouse import connect
from classfreq.reports.configs import AnalysisOptions, DemoConfig
from classfreq.reports.report import build_report
from classfreq.synsets import load_labelset

# our sources: (name, folder under captions/, counter --format)
CAPTION_SOURCES = [("cc3m_val", "cc3m_val", "cc3m"), ("coco_val2017", "coco_val2017", "coco"),
                   ("flickr8k", "flickr8k", "flickr"),
                   ("laion400m_sample", "laion400m_sample_img2dataset", "parquet")]
PRETRAINING = "laion400m"

MIX_YAML = """\
# OpenCLIP models trained on LAION-400M (Udandarao et al. evaluate ViT-B-32, ViT-B-16, ViT-L-14).
models: {models}
components:
  - component: LAION-400M
    source: imported:bethgelab:laion400m:lemmatized
    weight: 1        # one component: the epoch count would only shift log10(docs)
    note: per-class caption counts published by bethgelab (lemmatized search)
  - component: LAION-400M sample scanned by our counter
    source: ours:laion400m_sample:default:all
    counted: false
    note: 10,000 rows of the same corpus; part of the mix (never mined), not summed
"""


def _step(msg: str) -> float:
    print(f"[demo] {msg}", flush=True)
    return time.monotonic()


def count_captions(shared: Path, out: Path, warehouse: Path, labelset: str, max_matches: int = 2000,
                   relevance_judge: str | None = None) -> list[str]:
    """Run the Spark counter over each caption folder (with the relevance stage of `relevance_judge`
    unless None); returns the count summaries."""
    from classfreq.pipelines.count_classes import CountConfig, run, summary
    from classfreq.pipelines.relevance_stage import LAST as judged
    from classfreq.pipelines.spark_session import get_spark

    spark = get_spark(None, shuffle_partitions=4)
    lines = []
    try:
        for source, folder, fmt in CAPTION_SOURCES:
            path = shared / "captions" / folder
            if not path.exists():
                raise UserError(f"caption folder {path} is missing; pass --shared with the real data folder")
            files = sorted(str(p) for p in path.iterdir() if p.name != "PROVENANCE.txt" and p.is_file())
            config = CountConfig(inputs=tuple(files), source=source, format=fmt, labelset=labelset,
                                 max_matches_per_class=max_matches, out=str(out), warehouse=str(warehouse),
                                 progress_interval=0, relevance=relevance_judge is not None,
                                 relevance_judge=relevance_judge or "full").validate()
            res = run(config, spark=spark)
            lines.append(summary(res))
            print(f"[demo]   {lines[-1]}", flush=True)
            if config.relevance:
                print(f"[demo]   relevance ({relevance_judge} judge): {judged.pairs:,} pairs judged in "
                      f"{judged.seconds:.1f}s", flush=True)
    finally:
        spark.stop()
    return lines


def run_demo(config: DemoConfig) -> dict:
    shared, out, warehouse = Path(config.shared), Path(config.out), Path(config.warehouse)
    out.mkdir(parents=True, exist_ok=True)
    t0 = _step("label set imagenet1k -> warehouse")
    ls = _labelset_in_warehouse(warehouse, "imagenet1k")
    if not config.skip_count:
        _step(f"counting {shared / 'captions'} with the Spark counter (local mode)")
        count_captions(shared, out, warehouse, ls.name,
                       relevance_judge=config.relevance_judge if config.relevance else None)
    con = connect(warehouse)
    try:
        _step("importing bethgelab counts")
        _import_counts(con, shared / "reference" / "bethgelab", ls)
        _step("importing published per-class accuracies (CLIP models trained on LAION-400M)")
        models = _import_accuracies(con, shared / "reference" / "bethgelab", ls)
        _declare_mix(con, out / "mixes" / "openclip_laion400m.yaml", models)
        _step("analysis, recommendations, report")
        res = build_report(con, out / "report",
                           AnalysisOptions(n_boot=config.n_boot, models=tuple(models), labelset=ls.name,
                                           version=ls.version).validate())
    finally:
        con.close()
    res["seconds"] = time.monotonic() - t0
    return res


def _labelset_in_warehouse(warehouse: Path, name: str):
    """The label set, written into the warehouse unless it is there already."""
    ls = load_labelset(name)
    con = connect(warehouse)
    try:
        ensure_labelset_tables(con, ls)
    finally:
        con.close()
    return ls


def _import_counts(con, bethgelab: Path, ls) -> None:
    for f in sorted(bethgelab.glob("imagenet_*_search_counts.json")):
        r = import_bethgelab_counts(con, f, labelset=ls.name, version=ls.version)
        print(f"[demo]   {r['count_key']}: {r['rows']} classes", flush=True)


def _import_accuracies(con, bethgelab: Path, ls) -> list[str]:
    """The published accuracies of the CLIP models trained on LAION-400M; returns their names."""
    models = import_bethgelab_accuracies(con, bethgelab / "imagenet_ensemble_results.json", ls, n_per_class=50,
                                         models=[PRETRAINING])
    models = [m for m in models if pretraining_dataset(m) == PRETRAINING]
    print(f"[demo]   models: {', '.join(models)}", flush=True)
    return models


def _declare_mix(con, mix_file: Path, models: list[str]) -> None:
    mix_file.parent.mkdir(parents=True, exist_ok=True)
    mix_file.write_text(MIX_YAML.format(models="[" + ", ".join(models) + "]"))
    for w in write_mixes(con, read_mix_file(mix_file)):
        print(f"[demo]   warning: {w}", flush=True)


def print_result(res: dict) -> None:
    import pandas as pd
    print("\nHeadline (primary: each model vs its own declared mix; Spearman rho of per-class accuracy on "
          "log10(docs+1), 95% bootstrap interval):")
    for h in res["headline"]:
        print(f"  {h['model']:<28} rho = {h['spearman']:.3f} [{h['spearman_lo']:.3f}, {h['spearman_hi']:.3f}]"
              f"  p = {h['spearman_p']:.2g}  classes = {h['n_classes']}  zero-count share = {h['share_zero']:.1%}"
              + (f"  (superclass bootstrap [{h['spearman_superclass_lo']:.3f}, {h['spearman_superclass_hi']:.3f}])"
                 if pd.notna(h.get("spearman_superclass_lo")) else ""))
    print(f"\nReport: {Path(res['report']).resolve()}  (open it in a browser; it works offline)")
    for k, v in res["files"].items():
        print(f"  {k}: {v}")
