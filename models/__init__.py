"""Per-class accuracy of CLIP-style and LLaVA-style models on a labelled image set, or imported.

    classfreq eval clip --model PATH --images VAL_ROOT --labelset imagenet1k
    classfreq eval vlm  --model PATH --manifest val.jsonl --method likelihood|open|closed
    classfreq import-accuracy --bethgelab ../shared/data/reference/bethgelab/imagenet_ensemble_results.json

Modules: configs (the typed config of each command, validated once), jobs (each command's run:
read, evaluate, write, print), cli (options from the configs); datasets (ImageFolder / JSONL,
labels resolved against the label set), labels (prompt names, colliding names), prompts (CLIP
templates, VLM questions), image_batches (decoding in workers), clip_zero_shot, vlm (generation
and answer rules), vlm_likelihood (naive / packed / cached+trie scoring), evaluate (the loops),
accuracy (per-class rows and outputs), imports (published results; names checked by
classfreq.synsets.published_names), random_models (tiny random-weight checkpoints for tests and
the benchmark).

torch, transformers and pillow come with the `models` extra; the modules that need them import
them through classfreq.errors.require, so a missing one is named with its install command.
Importing published results (imports) needs none of them.
"""
