"""The shared training loop for feed-forward methods.

A method supplies a :class:`TrainingTask` (the network, its trainable
parameters, a loss on a batch of photos, and how to export the result); this
module does the rest, the same way for every method:

- data: every image under ``--content-dir`` (recursively), random-resized
  crops, DataLoader workers; unreadable files are skipped and counted;
- optimization: Adam, a learning-rate schedule, gradient steps;
- checkpoints: atomic, every N steps, on Ctrl-C, and ``--resume`` that
  continues exactly as an uninterrupted run would;
- reporting: progress events, a JSON-lines metrics log, optional TensorBoard;
- several processes: under ``torchrun`` the network is wrapped in
  DistributedDataParallel, each rank trains on its own slice of every global
  batch, and rank 0 alone writes files.

Determinism is by construction rather than by saving RNG states: which images
form step ``s``'s batch, and how each is cropped, are pure functions of
``(seed, s)``. A resumed run therefore sees exactly the batches the
uninterrupted run would have seen, whatever the number of workers.

Modules: settings (the run's settings, the task protocol, learning-rate
schedules), data (photos, crops, the batches of each step), checkpoints, engine (the loop itself), feedforward (the task johnson and cin
train: painting rows and a style-neutral row).
"""

from styletool.training.checkpoints import (
    CHECKPOINT_FORMAT,
    check_training_destination,
    default_checkpoint_dir,
    load_checkpoint,
    save_checkpoint,
)
from styletool.training.data import (
    KEEP_DECODED_UP_TO,
    ZOOM_RANGE,
    PhotoFolder,
    StepBatches,
    collate,
    loader_workers,
    random_resized_crop,
)
from styletool.training.engine import Trainer, TrainResult, run_training
from styletool.training.feedforward import FeedForwardTask, as_saved, range_excess
from styletool.training.settings import (
    LR_SCHEDULES,
    BasicTask,
    TrainingError,
    TrainingTask,
    TrainSettings,
    lr_factor,
)

__all__ = [
    "CHECKPOINT_FORMAT",
    "KEEP_DECODED_UP_TO",
    "LR_SCHEDULES",
    "ZOOM_RANGE",
    "BasicTask",
    "FeedForwardTask",
    "as_saved",
    "range_excess",
    "PhotoFolder",
    "StepBatches",
    "TrainResult",
    "TrainSettings",
    "Trainer",
    "TrainingError",
    "TrainingTask",
    "check_training_destination",
    "collate",
    "default_checkpoint_dir",
    "load_checkpoint",
    "loader_workers",
    "lr_factor",
    "random_resized_crop",
    "run_training",
    "save_checkpoint",
]
