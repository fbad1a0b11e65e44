"""Measurements behind docs/results.md and docs/performance.md; not tests (nothing here asserts on speed).

Accuracy (the results page, `python -m benchmarks.accuracy`):
- `accuracy`: trains methods x seeds with one recipe and writes the page; `--report_only` rebuilds it from kept runs.
- `variants`: each row's train.py flags; `runs`: one train.py process per (method, seed), resumable.
- `comparison`: table cells and the paired, seed-by-seed gains; `headline`: the 200-epoch table on the original
  pixels; `long_recipe`: the 200-epoch runs on the JPEG copy; `readme_table`: the README's copy of a table.
- `test_sets`: scores a finished run on both test sets; `verdict_seeds`: the two rows that train a second seed;
  `paired_runs`: scored runs side by side, differences paired by image (a dated note's figures).
- `reference_log`, `reference_code/`: the public reference code run here, and its logs read.

Speed (docs/performance.md), each printing ratios measured side by side in one process: `dual_stream`,
`precision`, `data_pipeline`, `export_latency`, `serving_load`, `decode_limits`; `common`: their timing helpers.
"""
