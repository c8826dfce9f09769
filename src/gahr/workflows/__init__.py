"""Workflows: the library composed into jobs that write files for people.

The layer above the library packages (nets, data, oracles, sample, train, analysis) and below
the command line: each `gahr` command parses its arguments and calls one function here (or one
library function). Nothing in the library imports this package.

- `experiment`: the memorization experiment, the one way through it: `run_experiment` = train
  the S1/S2 sweep (`gahr.train.run_sweep`), then `analyze_sweep` (same-seed samples, metrics,
  per-N files); `experiment_report` writes results.json, the figures and the report page;
- `summary`, `captions`: the named quantities per N with bootstrap intervals, and the report's
  sentences computed from them (a claim only where the numbers pass its threshold);
- `sizes`: the experiment at several image sizes, and the gap-against-N comparison;
- `demo`, `demo_report`: `gahr demo`, the experiment plus the eigen analysis on a synthetic
  class, its page and `summary.md`; `readme`: `gahr demo --publish` pastes that summary into
  the README;
- `sample_files`, `eigen_files`, `optimality_files`, `data_files`: `gahr sample` / `solve`,
  `eigen`, `optimality`, `data show` as calls that write their outputs;
- `reproduce`: the registry of the paper's results, one list of `gahr` commands per scale.

The modules are imported one by one (`from gahr.workflows.demo import run_demo`), so a
command loads only what it runs.
"""

__all__ = ["captions", "data_files", "demo", "demo_report", "eigen_files", "experiment",
           "experiment_report", "optimality_files", "readme", "reproduce", "sample_files",
           "sizes", "summary"]
