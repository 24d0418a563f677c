"""Stylizing as library calls: one photo (:func:`stylize`) or a batch job (:func:`run_job`), as the command does it.

- :mod:`styletool.pipeline.photo`: :func:`stylize`, any method on one photo or tensor;
- :mod:`styletool.pipeline.files`: which files a job reads (:func:`expand_inputs`) and where results go (:func:`output_paths`);
- :mod:`styletool.pipeline.job`: :class:`StylizeJob` and :func:`run_job`, the batch behind `styletool stylize`;
- :mod:`styletool.pipeline.shards`: the job across torchrun processes, and its :class:`Tally`.

Importing this package does not import torch.
"""

from styletool.pipeline.files import DEFAULT_NAME, expand_inputs, output_paths
from styletool.pipeline.job import InputResult, JobListener, StylizeJob, run_job
from styletool.pipeline.photo import load_photo, stylize
from styletool.pipeline.shards import Tally

__all__ = [
    "DEFAULT_NAME",
    "InputResult",
    "JobListener",
    "StylizeJob",
    "Tally",
    "expand_inputs",
    "load_photo",
    "output_paths",
    "run_job",
    "stylize",
]
