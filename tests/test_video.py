"""Video stylization: timing and sound kept, slices, flicker control, and the refusals around it."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from styletool import Method, save_model
from styletool.nn.inference import for_inference
from styletool.perceptual.metrics import FlickerMeter, flicker
from styletool.video import FrameRange, StillRegionBlend, stylize_video

from networks import trained_like

av = pytest.importorskip("av")

FPS = 24
FRAMES = 24
WIDTH, HEIGHT = 64, 48


def moving_pattern(
    frames: int = FRAMES, *, width: int = WIDTH, height: int = HEIGHT, noise: float = 0.04, seed: int = 1
) -> torch.Tensor:
    """``[T, 3, H, W]``: a colour gradient with a yellow block moving 2 px a frame, plus fresh noise in every frame."""
    generator = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, height), torch.linspace(0, 1, width), indexing="ij")
    clip = []
    for t in range(frames):
        frame = torch.stack([0.3 + 0.4 * xx, 0.2 + 0.5 * yy, 0.5 + 0.2 * (xx - yy)])
        left = 2 + 2 * t
        frame[:, height // 3 : 2 * height // 3, left : left + width // 4] = torch.tensor([0.9, 0.8, 0.2])[:, None, None]
        clip.append((frame + noise * torch.randn(frame.shape, generator=generator)).clamp(0, 1))
    return torch.stack(clip)


def write_clip(path: Path, clip: torch.Tensor, *, audio: bool = True, codec: str = "libx264") -> Path:
    """Encode ``clip`` at 24 frames/s (near-lossless), with a 440 Hz tone as long as the video when ``audio``."""
    with av.open(str(path), "w") as out:
        video = out.add_stream(codec, rate=FPS, options={"crf": "0"} if codec == "libx264" else {})
        video.width, video.height, video.pix_fmt = clip.shape[-1], clip.shape[-2], "yuv420p"
        sound = out.add_stream("aac", rate=16_000) if audio else None
        for index, frame in enumerate(clip):
            pixels = (frame.permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
            encoded = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            encoded.pts = index
            out.mux(video.encode(encoded))
        if sound is not None:
            seconds = len(clip) / FPS
            t = np.arange(int(16_000 * seconds)) / 16_000
            samples = av.AudioFrame.from_ndarray(
                (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None], format="flt", layout="mono"
            )
            samples.sample_rate, samples.pts = 16_000, 0
            out.mux(sound.encode(samples))
            out.mux(sound.encode())
        out.mux(video.encode())
    return path


def read_clip(path: Path) -> tuple[torch.Tensor, dict]:
    """Frames ``[T, 3, H, W]`` in [0, 1] and facts about the file."""
    with av.open(str(path)) as file:
        stream = file.streams.video[0]
        frames = [
            torch.from_numpy(f.to_ndarray(format="rgb24")).permute(2, 0, 1).float() / 255 for f in file.decode(stream)
        ]
    with av.open(str(path)) as file:
        audio = file.streams.audio[0] if file.streams.audio else None
        audio_seconds = None
        if audio is not None:
            packets = [p for p in file.demux(audio) if p.pts is not None]
            audio_seconds = float(sum(p.duration for p in packets) * audio.time_base)
        facts = {
            "rate": file.streams.video[0].average_rate,
            "seconds": file.duration / 1e6,
            "audio": audio.codec_context.name if audio is not None else None,
            "audio_seconds": audio_seconds,
        }
    return torch.stack(frames), facts


@pytest.fixture
def model(tmp_path):
    return save_model(
        tmp_path / "model.safetensors", trained_like().state_dict(), {"method": "johnson", "styles": ["x"]}
    )


@pytest.fixture
def clip_file(tmp_path):
    return write_clip(tmp_path / "clip.mp4", moving_pattern())


def difference(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean absolute difference of 4x4-averaged frames: blind to the encoder's loss of fine detail and chroma."""
    return float((F.avg_pool2d(a, 4) - F.avg_pool2d(b, 4)).abs().mean())


def network_frames(frames: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return for_inference(trained_like())(frames).clamp(0, 1)


def test_video_keeps_frame_rate_duration_and_sound_and_every_frame_is_stylized(cli, tmp_path, model, clip_file):
    out = tmp_path / "out.mp4"
    result = cli("stylize", str(clip_file), "--method", "johnson", "--model", str(model), "-o", str(out), "--json")
    assert result.code == 0, result.err
    record = json.loads(result.out)
    assert record["status"] == "ok" and record["frames"] == FRAMES

    source, source_facts = read_clip(clip_file)
    styled, facts = read_clip(out)
    assert styled.shape == source.shape
    assert facts["rate"] == Fraction(FPS) and facts["seconds"] == pytest.approx(source_facts["seconds"], abs=1 / FPS)
    assert facts["audio"] == "aac" and facts["audio_seconds"] == pytest.approx(source_facts["audio_seconds"], abs=0.01)
    # Each output frame is the network's picture of the same input frame (up to the encoder's loss)...
    expected = network_frames(source)
    assert difference(styled, expected) < 0.04
    # ...not of its neighbour (frames are neither dropped nor shifted), and far from the input frame itself.
    assert difference(styled, expected.roll(1, 0)) > 0.1
    assert difference(styled, source) > 0.1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_frames_slice_gives_those_frames_and_the_sound_under_them(cli, tmp_path, model, clip_file):
    out = tmp_path / "slice.mkv"
    result = cli(
        "stylize", str(clip_file), "--method", "johnson", "--model", str(model), "-o", str(out), "--frames", "6:18"
    )
    assert result.code == 0, result.err
    source, _ = read_clip(clip_file)
    styled, facts = read_clip(out)
    assert styled.shape[0] == 12
    assert difference(styled, network_frames(source[6:18])) < 0.04
    assert facts["seconds"] == pytest.approx(12 / FPS, abs=0.1)
    assert facts["audio_seconds"] == pytest.approx(12 / FPS, abs=0.1)


def test_frame_ranges_parse_and_bad_ones_are_refused(cli, tmp_path, model, clip_file):
    assert FrameRange.parse("3:") == FrameRange(3, None) and FrameRange.parse(":5") == FrameRange(0, 5)
    for bad in ("5", "a:b", "4:2", "-1:3"):
        result = cli(
            "stylize",
            str(clip_file),
            "--method",
            "johnson",
            "--model",
            str(model),
            "-o",
            str(tmp_path / "o.mp4"),
            "--frames",
            bad,
        )
        assert result.code != 0 and "--frames" in result.err and "Traceback" not in result.err
    result = cli(
        "stylize",
        str(clip_file),
        "--method",
        "johnson",
        "--model",
        str(model),
        "-o",
        str(tmp_path / "o.mp4"),
        "--frames",
        "100:200",
    )
    assert result.code == 1 and "no frames in the range 100:200" in result.err
    assert not (tmp_path / "o.mp4").exists()


def test_outputs_that_cannot_be_written_are_refused_before_any_work(cli, tmp_path, model, clip_file):
    (tmp_path / "folder.mp4").mkdir()
    cases = {
        tmp_path / "missing" / "o.mp4": "does not exist",
        tmp_path / "folder.mp4": "is a directory",
        tmp_path / "o.png": "must be a video file",
        clip_file: "would overwrite the input",
    }
    for out, message in cases.items():
        result = cli(
            "stylize", str(clip_file), "--method", "johnson", "--model", str(model), "-o", str(out), "--overwrite"
        )
        assert result.code != 0 and message in result.err and "Traceback" not in result.err, (out, result.err)
        assert str(out.name) in result.err  # the one line names the file
    assert not (tmp_path / "o.png").exists() and not (tmp_path / "missing").exists()
    assert read_clip(clip_file)[0].shape[0] == FRAMES  # the input is untouched


def test_still_region_blend_steadies_what_stands_still_and_leaves_what_moves():
    clip = moving_pattern(noise=0.02)
    plain = network_frames(clip)
    steady = StillRegionBlend(0.8)
    blended = torch.cat([steady(clip[i : i + 4], plain[i : i + 4]) for i in range(0, len(clip), 4)])
    assert flicker(clip, blended) < 0.5 * flicker(clip, plain)  # measured 7.64 -> 2.32
    for t in (5, 12, 20):  # the block's leading and trailing edges are fresh: no trails behind what moves
        left, rows = 2 + 2 * t, slice(HEIGHT // 3 + 2, 2 * HEIGHT // 3 - 2)
        for columns in (slice(left - 2, left), slice(left + WIDTH // 4 - 2, left + WIDTH // 4)):
            assert (blended[t][:, rows, columns] - plain[t][:, rows, columns]).abs().max() < 1e-3
    assert torch.equal(StillRegionBlend(0.0)(clip, plain), plain)


@pytest.mark.slow
@pytest.mark.xdist_group("starry_johnson")
def test_temporal_smoothing_lowers_the_flicker_of_a_trained_network(starry_johnson, tmp_path):
    """A moving pattern with noise through the real starry_night model: plain, and with --temporal-smoothing 0.9.

    Measured: flicker 2.43 plain, 0.99 smoothed. A more natural clip's figures: docs/video.md.
    """
    clip_file = write_clip(tmp_path / "clip.mp4", moving_pattern(noise=0.01))
    figures = {}
    for label in ("plain", "smoothed"):
        smoothing = [] if label == "plain" else ["--temporal-smoothing", "0.9"]
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "styletool",
                "-q",
                "stylize",
                str(clip_file),
                "--method",
                "johnson",
                "--model",
                str(starry_johnson.model),
                "-o",
                str(tmp_path / f"{label}.mp4"),
                "--json",
                *smoothing,
            ],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr
        figures[label] = json.loads(run.stdout)["flicker"]
    print("flicker:", figures)
    assert figures["smoothed"] < 0.7 * figures["plain"], figures


def test_flicker_meter_fed_in_batches_equals_the_whole_clip():
    clip = moving_pattern(12)
    styled = clip.flip(1)
    meter = FlickerMeter()
    for start in range(0, 12, 5):
        meter.add(clip[start : start + 5], styled[start : start + 5])
    assert meter.value == pytest.approx(flicker(clip, styled))
    assert flicker(clip, clip) == pytest.approx(1.0)


def test_a_folder_of_photos_and_videos(cli, tmp_path, model, clip_file):
    folder = tmp_path / "in"
    folder.mkdir()
    write_clip(folder / "walk.webm", moving_pattern(8), audio=False, codec="libvpx-vp9")
    (folder / "still.png").write_bytes(b"")
    from styletool import save_image

    save_image(moving_pattern(1)[0:1], folder / "still.png")
    result = cli(
        "stylize", str(folder), "--method", "johnson", "--model", str(model), "--output-dir", str(tmp_path / "out")
    )
    assert result.code == 0, result.err
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["still_model_johnson.png", "walk_model_johnson.webm"]
    frames, facts = read_clip(tmp_path / "out" / "walk_model_johnson.webm")
    assert frames.shape[0] == 8 and facts["audio"] is None


def test_methods_that_cannot_do_video_say_which_can(cli, tmp_path, clip_file):
    result = cli("stylize", str(clip_file), "--style", str(clip_file), "-o", str(tmp_path / "o.mp4"))
    assert result.code == 2
    assert "gatys" in result.err and "cin, johnson, metastyle" in result.err and "Traceback" not in result.err


def test_video_needs_a_video_output_and_a_readable_video(cli, tmp_path, model, clip_file):
    result = cli("stylize", str(clip_file), "--method", "johnson", "--model", str(model), "-o", str(tmp_path / "o.png"))
    assert result.code == 2 and "o.png" in result.err and "video file" in result.err
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    result = cli("stylize", str(broken), "--method", "johnson", "--model", str(model), "-o", str(tmp_path / "o.mp4"))
    assert result.code == 1 and "broken.mp4" in result.err and "cannot read video" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert not (tmp_path / "o.mp4").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_options_that_only_apply_to_videos_are_refused_for_photos(cli, tmp_path, model):
    from styletool import save_image

    photo = tmp_path / "p.png"
    save_image(moving_pattern(1), photo)
    result = cli(
        "stylize",
        str(photo),
        "--method",
        "johnson",
        "--model",
        str(model),
        "-o",
        str(tmp_path / "o.png"),
        "--temporal-smoothing",
        "0.5",
    )
    assert result.code == 2 and "apply to videos" in result.err


def test_a_grid_per_photo_cannot_be_a_video(cli, tmp_path, clip_file):
    cin = save_model(
        tmp_path / "cin.safetensors",
        trained_like(num_styles=2).state_dict(),
        {"method": "cin", "styles": ["a", "b"], "num_styles": 2},
    )
    result = cli(
        "stylize", str(clip_file), "--method", "cin", "--model", str(cin), "-o", str(tmp_path / "o.mp4"), "--all-styles"
    )
    assert result.code == 2 and "cannot stylize video" in result.err


def test_missing_pyav_gives_a_one_line_hint(cli, tmp_path, model, clip_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)
    result = cli("stylize", str(clip_file), "--method", "johnson", "--model", str(model), "-o", str(tmp_path / "o.mp4"))
    assert result.code == 2 and "pip install 'styletool[video]'" in result.err


def test_stylize_video_runs_frames_in_order_in_batches(tmp_path, clip_file):
    seen = []

    def run(frames):
        seen.append(frames.shape[0])
        return 1 - frames

    result = stylize_video(clip_file, tmp_path / "neg.mov", run, device=torch.device("cpu"), batch_size=5)
    assert seen == [5, 5, 5, 5, 4] and result.frames == FRAMES
    styled, _ = read_clip(tmp_path / "neg.mov")
    source, _ = read_clip(clip_file)
    assert difference(styled, 1 - source) < 0.04


def test_smoothing_starts_afresh_at_a_cut(tmp_path):
    """After a hard cut the new shot is smoothed as if it were its own video: nothing carried over.

    The new shot keeps the right half of the old picture, so that half stands still across the cut;
    instance normalization still paints it differently in the new shot, and without the reset the
    blend would keep 0.9 of the old shot's painting there (measured: 0.04 off over the shot, 0.12 on
    that half of its first frames; 0.004 with the reset).
    """
    first = moving_pattern(10, noise=0.0)
    second = first[-1:].repeat(10, 1, 1, 1).clone()
    second[..., : WIDTH // 2] = 1 - second[..., : WIDTH // 2]
    clip_file = write_clip(tmp_path / "cut.mp4", torch.cat([first, second]), audio=False)
    fast = for_inference(trained_like())

    def smoothed(frames):
        with torch.no_grad():
            stylize_video(
                frames,
                tmp_path / "out.mp4",
                lambda x: fast(x),
                device=torch.device("cpu"),
                batch_size=4,
                steady=StillRegionBlend(0.9),
            )
        return read_clip(tmp_path / "out.mp4")[0]

    whole = smoothed(clip_file)
    alone = smoothed(write_clip(tmp_path / "second.mp4", second, audio=False))
    assert difference(whole[10:], alone) < 0.015


def _colour_bars(frames: int = 8) -> torch.Tensor:
    """``[T, 3, 48, 64]``: saturated red and green halves, where the BT.601 and BT.709 matrices disagree most."""
    bars = torch.zeros(3, 48, 64)
    bars[:, :, :32] = torch.tensor([200, 30, 40])[:, None, None] / 255
    bars[:, :, 32:] = torch.tensor([30, 180, 90])[:, None, None] / 255
    return bars.expand(frames, -1, -1, -1)


def _write_bt709_clip(path: Path, clip: torch.Tensor) -> Path:
    """Encode ``clip`` as an HD camera would: BT.709 matrix, limited range, tagged (lossless 4:4:4 here)."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS, options={"crf": "0"})
        video.width, video.height, video.pix_fmt = clip.shape[-1], clip.shape[-2], "yuv444p"
        video.codec_context.colorspace = video.codec_context.color_primaries = video.codec_context.color_trc = 1
        video.codec_context.color_range = 1
        for index, frame in enumerate(clip):
            pixels = (frame.permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
            encoded = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(
                format="yuv444p",
                src_colorspace="ITU601",
                dst_colorspace="ITU709",
                src_color_range="JPEG",
                dst_color_range="MPEG",
            )
            encoded.pts = index
            out.mux(video.encode(encoded))
        out.mux(video.encode())
    return path


def _decode_as(path: Path, matrix: str) -> torch.Tensor:
    other = "ITU601" if matrix == "ITU709" else "ITU709"
    with av.open(str(path)) as file:
        frames = [
            f.to_ndarray(
                format="rgb24",
                src_colorspace=matrix,
                dst_colorspace=other,
                src_color_range="MPEG",
                dst_color_range="JPEG",
            )
            for f in file.decode(video=0)
        ]
    return torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 255


def test_a_bt709_video_is_read_in_bt709_and_the_output_is_bt709_and_says_so(cli, tmp_path, model):
    from styletool.video import _from_yuv

    bars = _colour_bars()
    source = _write_bt709_clip(tmp_path / "hd.mp4", bars)
    with av.open(str(source)) as file:
        frame = next(file.decode(video=0))
        read = torch.from_numpy(frame.to_ndarray(format="rgb24", **_from_yuv(frame))).permute(2, 0, 1).float() / 255
    assert (read - bars[0]).abs().max() <= 2 / 255  # the colours the camera saw
    assert (_decode_as(source, "ITU601")[0] - bars[0]).abs().max() > 10 / 255  # what reading it as BT.601 would give

    out = tmp_path / "out.mp4"
    result = cli("stylize", str(source), "--method", "johnson", "--model", str(model), "-o", str(out))
    assert result.code == 0, result.err
    with av.open(str(out)) as file:
        tags = file.streams.video[0].codec_context
        assert (tags.colorspace, tags.color_primaries, tags.color_trc, tags.color_range) == (1, 1, 1, 1)
    expected = network_frames(bars)
    assert difference(_decode_as(out, "ITU709"), expected) < 0.02


class _FrameClock(Method):
    """Paints each frame the grey of its place in its own video: frame k of a video is k/10."""

    name = "frame-clock"
    needs_style = False

    def start_video(self, request, prepared):
        return {"frames": 0}  # fresh for every video

    def can_batch(self, request, prepared):
        return True

    def stylize(self, content, request, prepared, *, progress=None):
        first = prepared["frames"]
        prepared["frames"] += content.shape[0]
        grey = torch.arange(first, first + content.shape[0], dtype=torch.float32) / 10
        return grey.view(-1, 1, 1, 1).expand_as(content).clone()


def test_each_video_gets_fresh_frame_state_from_the_method(tmp_path):
    """start_video's state lasts one video: the second video counts its frames from 0 again."""
    from styletool import Runtime
    from styletool.framework.registry import Registry
    from styletool.framework.specs import MethodSpec
    from styletool.pipeline import StylizeJob, run_job

    registry = Registry()
    registry.add(
        MethodSpec(name="frame-clock", summary="test", load=_FrameClock, capabilities={"stylize", "video"}),
        plugin="tests",
    )
    clips = [write_clip(tmp_path / f"{name}.mp4", moving_pattern(6), audio=False) for name in ("a", "b")]
    outputs = [tmp_path / "a_out.mp4", tmp_path / "b_out.mp4"]
    job = StylizeJob(inputs=clips, outputs=outputs, method="frame-clock", batch_size=4)
    tally = run_job(job, runtime=Runtime(device="cpu", registry=registry))
    assert tally.done == 2 and not tally.failed
    for out in outputs:
        frames, _ = read_clip(out)
        greys = frames.mean(dim=(1, 2, 3))
        torch.testing.assert_close(greys, torch.arange(6) / 10, atol=0.02, rtol=0)


class _AsTheDocsShow(Method):
    """A method written exactly as docs/plugins.md shows it: ``progress`` is a required keyword."""

    name = "as-the-docs-show"
    needs_style = False

    def can_batch(self, request, prepared):
        return True

    def stylize(self, content, request, prepared, *, progress):
        from styletool import Progress

        progress(Progress(stage="", step=1, total=1))
        return 1 - content


class _Diverged(_AsTheDocsShow):
    def stylize(self, content, request, prepared, *, progress):
        return content * float("nan")


def _run_video_job(tmp_path, method_class):
    from styletool import JobListener, Runtime
    from styletool.framework.registry import Registry
    from styletool.framework.specs import MethodSpec
    from styletool.pipeline import StylizeJob, run_job

    registry = Registry()
    registry.add(
        MethodSpec(name="m", summary="test", load=method_class, capabilities={"stylize", "video"}), plugin="third"
    )
    clip = write_clip(tmp_path / "clip.mp4", moving_pattern(6), audio=False)
    out = tmp_path / "out.mp4"
    errors = []

    class Listener(JobListener):
        def finished(self, result):
            errors.append(result.error)

    tally = run_job(
        StylizeJob(inputs=[clip], outputs=[out], method="m", batch_size=4),
        runtime=Runtime(device="cpu", registry=registry),
        listener=Listener(),
    )
    return tally, out, clip, errors


def test_a_method_written_as_the_plugin_docs_show_stylizes_video(tmp_path):
    tally, out, clip, _ = _run_video_job(tmp_path, _AsTheDocsShow)
    assert tally.done == 1 and not tally.failed
    assert difference(read_clip(out)[0], 1 - read_clip(clip)[0]) < 0.03


def test_video_frames_that_are_not_pictures_are_never_encoded(tmp_path):
    tally, out, clip, errors = _run_video_job(tmp_path, _Diverged)
    assert tally.failed == [str(clip)] and not out.exists()
    assert str(errors[0]).startswith(f"{clip}: method 'm' (plugin 'third') returned a picture with NaN")
