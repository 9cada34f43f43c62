"""Outcomes of the ketamine infusion program, measured the way Oh et al. (Pain Medicine 2021) did.

- `kip.outcomes.stats`: the study's tests (chi-squared goodness-of-fit, Pearson, Yates, Fisher) and
  exact binomial intervals, as pure functions over plain counts.
- `kip.outcomes.published`: every figure the paper printed, as data, so a recomputation can say
  which printed figure it reproduces.
- `kip.outcomes.dataset`: the analysis dataset's tables and columns as data, with row validation
  (docs/analysis-dataset.md).
- `kip.outcomes.engines`: an SQL engine (DuckDB, SQLite, PostgreSQL) by URL through Ibis, and the
  analysis dataset loaded into it with its column types.
- `kip.outcomes.counts`, `.builders`, `.tables`, `.cells`: Tables 1-6 counted inside the engine
  and assembled into plain frozen cells (docs/reproduce.md).
- `kip.outcomes.reproduce`, `.paper_errata`: every printed figure against the recomputation, with
  the reason for each mismatch.

Nothing is imported here: `published` must stay usable without paying for a SciPy import.
"""
