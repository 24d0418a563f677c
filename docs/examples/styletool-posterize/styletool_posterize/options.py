"""Options of the posterize method; shown by `styletool methods show posterize`."""

from dataclasses import dataclass

from styletool import option


@dataclass
class PosterizeOptions:
    levels: int = option(4, help="Colour levels per channel.", min=2, max=256)
