"""The posterize method: flat colour bands, no style image needed."""

import torch

from styletool import Method, Progress
from styletool_posterize.options import PosterizeOptions


class PosterizeMethod(Method):
    """Quantize each colour channel to a few levels."""

    name = "posterize"
    Options = PosterizeOptions
    needs_style = False

    def stylize(self, content, request, prepared, *, progress):
        levels = request.options.levels - 1
        result = torch.round(content * levels) / levels
        progress(Progress(stage="", step=1, total=1))
        return result
