"""Per-class accuracy of CLIP-style and LLaVA-style models on a labelled image set, or imported.

    classfreq eval clip --model PATH --images VAL_ROOT --labelset imagenet1k [--n-way N --seed S]
    classfreq eval vlm  --model PATH --manifest val.jsonl --method likelihood|open|closed [--prompt cot]
    classfreq eval imagewikiqa --model PATH --questions imagewikiqa.jsonl --images IMAGENET_VAL
    classfreq probe --model PATH --images ROOT
    classfreq import-accuracy --bethgelab ../shared/data/reference/bethgelab/imagenet_ensemble_results.json
    classfreq import-accuracy --vlmclassifier OUTPUTS.jsonl --model NAME --method open|closed

Modules: configs (the typed config of each command, validated once), jobs (each command's run:
read, evaluate, write, print), cli (options from the configs); datasets (ImageFolder / JSONL,
labels resolved against the label set), jsonl (JSON lines with bad lines kept), labels (prompt
names, colliding names), prompts (CLIP templates, VLM prompt variants and chat formats),
image_batches (decoding in workers), clip_zero_shot, vlm (loading, prompts, generation), answers
(the rules that score an answer: published, synonyms, the answer letter), vlm_likelihood (naive /
packed / cached+trie scoring), nway (label-space size: the seeded draw), evaluate (the loops),
probe (hidden-state features and the linear probe), imagewikiqa (questions and their scoring),
accuracy (per-class rows and outputs, `accuracy` or `nway_accuracy`), imports (published
results; names checked by classfreq.synsets.published_names), vlmclassifier (the study's own
output files), random_models (tiny random-weight checkpoints for tests and the benchmark).

torch, transformers and pillow come with the `models` extra; the modules that need them import
them through classfreq.errors.require, so a missing one is named with its install command.
Importing published results and the study's output files (imports, vlmclassifier) needs none of them.
"""
