"""Label sets: versioned class tables with surface forms and ambiguity flags.

    from classfreq.synsets import load_labelset, labelset_names
    ls = load_labelset("imagenet1k")      # or "flowers102", "stanford_cars", "caltech101", or a folder
    ls.classes, ls.forms, ls.ambiguous_forms()

Loading reads the committed tables under synsets/data/ and needs neither WordNet nor NLTK;
`classfreq synsets build` regenerates them from WordNet 3.0.

Published per-class results keyed by class name are checked against a label set by position in
one place, classfreq.synsets.published_names (used by the count and the accuracy imports).
Text is normalised and tokenised by classfreq.text; forms.py adds qualifiers, spelling variants
and possessives. The CLI's options are the fields of synsets/configs.py; synsets/jobs.py runs them.
"""
from classfreq.synsets.labelset import LabelSet, labelset_names, load_labelset

__all__ = ["LabelSet", "labelset_names", "load_labelset"]
