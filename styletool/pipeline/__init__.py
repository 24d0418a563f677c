"""Stylizing as library calls, as the command does it: a prepared :class:`Stylizer` (the front door), one photo
(:func:`stylize`) or a batch job (:func:`run_job`).

- :mod:`styletool.pipeline.stylizer`: :class:`Stylizer`, a method prepared once and called per picture, and
  :func:`stylize`, any method on one photo or tensor;
- :mod:`styletool.pipeline.results`: what a method hands back, checked, and its failures blamed on its plugin;
- :mod:`styletool.pipeline.files`: which files a job reads (:func:`expand_inputs`) and where results go (:func:`output_paths`);
- :mod:`styletool.pipeline.job`: :class:`StylizeJob` and :func:`run_job`, the batch behind `styletool stylize`;
- :mod:`styletool.pipeline.shards`: the job across torchrun processes, and its :class:`Tally`.

Importing this package does not import torch.
"""

from styletool.pipeline.files import DEFAULT_NAME, expand_inputs, output_paths
from styletool.pipeline.job import InputResult, JobListener, StylizeJob, run_job
from styletool.pipeline.shards import Tally
from styletool.pipeline.stylizer import Stylizer, load_photo, stylize

__all__ = [
    "DEFAULT_NAME",
    "InputResult",
    "JobListener",
    "StylizeJob",
    "Stylizer",
    "Tally",
    "expand_inputs",
    "load_photo",
    "output_paths",
    "run_job",
    "stylize",
]
