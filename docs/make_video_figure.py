"""Render docs/images/video_frames.jpg and print the flicker figures of docs/video.md.

    python docs/make_video_figure.py [--model paintings --method cin --style-name the_scream]

The clip is made from a photo in ../shared/images: a slow pan across it with
fresh sensor-like noise in every frame (48 frames at 24 frames/s), written
as an MP4 and stylized through the real CLI at several --temporal-smoothing
strengths. The figure shows four consecutive frames of the input, of plain
per-frame stylization and of smoothed stylization (0.8), and under each
stylized row the change from
the previous frame (amplified 4x): the shimmer that smoothing removes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
PHOTO = HERE.parent.parent / "shared" / "images" / "content" / "tubingen.jpg"
FRAMES, FPS, WIDTH, HEIGHT = 48, 24, 320, 240


def panning_clip(photo: Path, *, noise: float = 0.02, seed: int = 0) -> torch.Tensor:
    """``[T, 3, H, W]``: a window sliding across the photo, 2 px a frame, with fresh Gaussian noise in each frame."""
    from styletool import load_image, resize_longest

    pixels = resize_longest(load_image(photo).pixels[None], WIDTH + 2 * FRAMES + 16)[0]
    top = (pixels.shape[-2] - HEIGHT) // 2
    generator = torch.Generator().manual_seed(seed)
    frames = [pixels[:, top : top + HEIGHT, 2 * t : 2 * t + WIDTH] for t in range(FRAMES)]
    return torch.stack([(f + noise * torch.randn(f.shape, generator=generator)).clamp(0, 1) for f in frames])


def write_mp4(clip: torch.Tensor, path: Path) -> None:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"crf": "10"})
        stream.width, stream.height, stream.pix_fmt = clip.shape[-1], clip.shape[-2], "yuv420p"
        for index, frame in enumerate(clip):
            encoded = av.VideoFrame.from_ndarray((frame.permute(1, 2, 0) * 255).round().byte().numpy(), format="rgb24")
            encoded.pts = index
            out.mux(stream.encode(encoded))
        out.mux(stream.encode())


def read_mp4(path: Path) -> torch.Tensor:
    import av

    with av.open(str(path)) as file:
        return torch.stack(
            [
                torch.from_numpy(f.to_ndarray(format="rgb24")).permute(2, 0, 1).float() / 255
                for f in file.decode(video=0)
            ]
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default="paintings", help="a model file or shipped model name (default: the shipped cin model)"
    )
    parser.add_argument("--method", default="cin", help="the model's method (default cin)")
    parser.add_argument("--style-name", default="the_scream", help="for a cin model: the style to use")
    parser.add_argument("--out", type=Path, default=HERE / "images" / "video_frames.jpg")
    args = parser.parse_args()

    from styletool import save_image
    from styletool.grid import labelled_grid
    from styletool.perceptual.metrics import flicker

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        clip = panning_clip(PHOTO)
        write_mp4(clip, folder / "clip.mp4")
        source = read_mp4(folder / "clip.mp4")
        results = {}
        runs = {"plain": []}
        for strength in ("0.5", "0.8", "0.9"):
            runs[f"smoothed {strength}"] = ["--temporal-smoothing", strength]
        for label, flags in runs.items():
            out = folder / f"{label.replace(' ', '_')}.mp4"
            run = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "styletool",
                    "-q",
                    "stylize",
                    str(folder / "clip.mp4"),
                    "--method",
                    args.method,
                    "--model",
                    str(args.model),
                    "-o",
                    str(out),
                    "--json",
                    *flags,
                    *(["--style-name", args.style_name] if args.method == "cin" else []),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            record = json.loads(run.stdout)
            results[label] = read_mp4(out)
            # The CLI measures flicker on the frames before encoding; the decoded file's agrees closely.
            print(
                f"{label}: flicker {record['flicker']:.3f} (decoded file: {flicker(source, results[label]):.3f}), "
                f"{record['seconds']:.1f} s for {record['frames']} frames"
            )

    picked = range(20, 24)
    change = lambda frames, t: ((frames[t] - frames[t - 1]).abs() * 4).clamp(0, 1)[None]  # noqa: E731
    rows = [
        [source[t][None] for t in picked],
        [results["plain"][t][None] for t in picked],
        [change(results["plain"], t) for t in picked],
        [results["smoothed 0.8"][t][None] for t in picked],
        [change(results["smoothed 0.8"], t) for t in picked],
    ]
    labels = [
        ["input"] + [""] * 3,
        ["per frame"] + [""] * 3,
        ["change x4"] + [""] * 3,
        ["--temporal-smoothing 0.8"] + [""] * 3,
        ["change x4"] + [""] * 3,
    ]
    grid = labelled_grid(rows, labels, cell=WIDTH)
    save_image(grid, args.out, quality=85)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
