"""Label sets: versioned class tables with surface forms and ambiguity flags.

    from classfreq.synsets import load_labelset, labelset_names, write_labelset_tables
    ls = load_labelset("imagenet1k")      # or "flowers102", "stanford_cars", "caltech101", or a folder
    ls.classes, ls.forms, ls.ambiguous_forms()

Loading reads the committed tables under synsets/data/ and needs neither WordNet nor NLTK;
`classfreq synsets build` regenerates them from WordNet 3.0.
"""
from classfreq.synsets.labelset import LabelSet, labelset_names, load_labelset
from classfreq.synsets.warehouse_tables import ensure_labelset_tables, write_labelset_tables

__all__ = ["LabelSet", "ensure_labelset_tables", "labelset_names", "load_labelset", "write_labelset_tables"]
