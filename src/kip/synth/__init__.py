"""Synthetic data for kip, seeded and reproducible.

- `kip.synth.study`: a patient-level cohort shaped like Oh et al. 2021 (57 patients, 192 infusions),
  so that counting it back gives the paper's published tables (docs/study-cohort.md).
- `kip.synth.scale`: multi-site registries of any size with the study's rates, generated with
  NumPy, as Arrow/Parquet and loadable into the engines (docs/benchmarks.md).
"""
