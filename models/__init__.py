"""Per-class accuracy of CLIP-style and LLaVA-style models on a labelled image set, or imported.

    classfreq eval clip --model PATH --images VAL_ROOT --labelset imagenet1k
    classfreq eval vlm  --model PATH --manifest val.jsonl --method likelihood|open|closed
    classfreq import-accuracy --bethgelab ../shared/data/reference/bethgelab/imagenet_ensemble_results.json

Modules: datasets (ImageFolder / JSONL, labels resolved against the label set), labels (prompt
names, colliding names), image_batches (decoding in workers), clip_zero_shot, vlm (generation and
answer rules), vlm_likelihood (naive / packed / cached+trie scoring), evaluate (the loops),
accuracy (per-class rows and outputs), imports (published results), random_models (tiny
random-weight checkpoints for tests and the benchmark), cli.
"""
