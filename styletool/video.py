"""Stylizing videos: frames decoded, run through a feed-forward network in batches, encoded again.

PyAV (FFmpeg's libraries, shipped inside its wheels, so it works offline)
reads and writes the files. It is the optional ``video`` extra and is
imported only when a video is stylized.

What the output keeps from the input:

* timing: every frame keeps its own timestamp (shifted so a ``--frames``
  slice starts at zero), so the frame rate and the duration are the input's,
  variable frame rates included;
* sound: audio packets are copied unchanged when the output container can
  hold their codec, and re-encoded to the container's usual codec otherwise,
  trimmed to the slice of frames stylized;
* colour: frames are read with the YUV matrix the source is tagged with
  (untagged: BT.709 from 720 lines up, BT.601 below, as players assume), and
  written as BT.709, limited range, tagged so players need not guess.

The output is written to a hidden temporary file beside the destination and
renamed into place at the end, so a failed or interrupted run leaves nothing
half-written.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from styletool.errors import StyletoolError, UsageError, describe
from styletool.events import Progress, ProgressCallback, ignore_progress
from styletool.io.atomic import replacing

if TYPE_CHECKING:
    import torch
    from torch import Tensor

# Suffixes read as videos (folder inputs pick them up too); those styletool can write.
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi"}

# Output suffix -> (FFmpeg container, video encoder, its options, audio encoder used when copying is impossible).
_CONTAINERS = {
    ".mp4": ("mp4", "libx264", {"crf": "18", "preset": "medium"}, "aac"),
    ".m4v": ("mp4", "libx264", {"crf": "18", "preset": "medium"}, "aac"),
    ".mov": ("mov", "libx264", {"crf": "18", "preset": "medium"}, "aac"),
    ".mkv": ("matroska", "libx264", {"crf": "18", "preset": "medium"}, "aac"),
    ".webm": ("webm", "libvpx-vp9", {"crf": "30", "b": "0", "deadline": "good", "cpu-used": "4"}, "libopus"),
}
WRITABLE_VIDEO_SUFFIXES = tuple(_CONTAINERS)

# AVColorSpace numbers (a frame's tag) -> swscale's names for the YUV matrices PyAV converts with.
_MATRICES = {1: "ITU709", 4: "FCC", 5: "ITU601", 6: "SMPTE170M", 7: "SMPTE240M"}
_BT709 = 1  # AVColorSpace, AVColorPrimaries and AVColorTransferCharacteristic all number BT.709 as 1
_LIMITED_RANGE = 1  # AVColorRange "MPEG": 16-235

# A hard cut: consecutive frames whose 16x16 thumbnails differ by more than this on average (pixels in [0, 1]).
# Within a shot, even fast motion stays well below it; a cut to another scene is usually far above.
CUT_CHANGE = 0.12


def require_av() -> Any:
    """The ``av`` module, or a one-line hint to install the extra."""
    try:
        import av
    except ImportError:
        raise UsageError("stylizing video needs PyAV: pip install 'styletool[video]'") from None
    return av


def is_video(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


@dataclass(frozen=True)
class FrameRange:
    """``--frames A:B``: frames A (counted from 0) up to, not including, B; either end may be left out."""

    start: int = 0
    stop: int | None = None

    @classmethod
    def parse(cls, text: str | None) -> FrameRange:
        if text is None:
            return cls()
        first, sep, last = text.partition(":")
        try:
            if not sep:
                raise ValueError
            start = int(first) if first.strip() else 0
            stop = int(last) if last.strip() else None
        except ValueError:
            raise UsageError(
                f"option --frames: '{text}' should be START:STOP frame numbers, e.g. 0:48 (either may be left out)"
            ) from None
        if start < 0 or (stop is not None and stop <= start):
            raise UsageError(f"option --frames: '{text}' is empty or negative; START must be >= 0 and below STOP")
        return cls(start, stop)

    def __contains__(self, index: int) -> bool:
        return index >= self.start and (self.stop is None or index < self.stop)


@dataclass
class VideoResult:
    frames: int
    seconds: float
    flicker: float | None


def check_video_output(path: Path, *, source: Path) -> None:
    """Fail early, before long work, if ``path`` cannot be written as the video made from ``source``."""
    if path.suffix.lower() not in _CONTAINERS:
        raise UsageError(
            f"a video's output must be a video file ({', '.join(_CONTAINERS)}), not '{path.suffix or path.name}'",
            where=path,
        )
    from styletool.io.images import check_destination  # here: listing commands import this module without torch

    check_destination(path, inputs=[source], error=UsageError)


def _even_size(width: int, height: int, size: int | None) -> tuple[int, int]:
    """Frame size for the encoder: the longest side scaled to ``size`` if given, both sides even (yuv420p)."""
    if size is not None:
        from styletool.io.images import longest_side_shape

        height, width = longest_side_shape(height, width, size)
    return max(2, width - width % 2), max(2, height - height % 2)


def stylize_video(
    source: Path,
    destination: Path,
    run: Callable[[Tensor], Tensor],
    *,
    device: torch.device,
    batch_size: int = 4,
    frames: FrameRange = FrameRange(),
    size: int | None = None,
    progress: ProgressCallback = ignore_progress,
    steady: StillRegionBlend | None = None,
) -> VideoResult:
    """Stylize ``source`` into ``destination`` with ``run`` (``[N, 3, H, W]`` frames in [0, 1] -> same shape).

    Frames go through ``run`` ``batch_size`` at a time, in order. ``steady``
    (temporal smoothing) post-processes the stylized frames, in order, and
    forgets the past at each hard cut to a new shot.
    """
    from styletool.perceptual.metrics import FlickerMeter

    av = require_av()
    container, codec, codec_options, audio_codec = _CONTAINERS[destination.suffix.lower()]
    started = time.perf_counter()
    try:
        source_file = av.open(str(source))
    except (av.FFmpegError, OSError) as exc:
        raise StyletoolError(f"cannot read video: {describe(exc)}", where=source) from None
    with source_file:
        if not source_file.streams.video:
            raise StyletoolError("no video stream in the file", where=source)
        try:
            with replacing(destination) as temp, av.open(str(temp), "w", format=container) as out:
                job = _Job(
                    av,
                    source,
                    source_file,
                    out,
                    run,
                    flicker=FlickerMeter(),
                    on_cut=None if steady is None else steady.reset,
                    steady=steady,
                    device=device,
                    batch_size=batch_size,
                    frames=frames,
                    size=size,
                    codec=codec,
                    codec_options=codec_options,
                    audio_codec=audio_codec,
                    progress=progress,
                )
                job.run()
                if job.written == 0:
                    raise StyletoolError(
                        f"no frames in the range {frames.start}:{'' if frames.stop is None else frames.stop} "
                        f"(the video has {job.decoded} frames)",
                        where=source,
                    )
        except (av.FFmpegError, OSError) as exc:  # reading errors were turned into StyletoolError inside
            raise StyletoolError(f"cannot write video: {describe(exc)}", where=destination) from None
    return VideoResult(frames=job.written, seconds=time.perf_counter() - started, flicker=job.flicker.value)


class StillRegionBlend:
    """Steady output where the picture stands still: keep part of the previous output frame there.

    Where the input frame did not change from the previous one (compared
    after a 5x5 blur, so sensor noise does not count as change), the output
    frame becomes ``strength`` parts the previous output frame and the rest
    the new one; where the input changed (something moved), the new output
    is taken as it is, so moving things leave no trails. Applied in order it
    is a running average over the frames in which a pixel stays still, which
    is what removes the shimmer of texture re-painted from frame to frame.
    """

    # Blurred input change (in [0, 1]) at which a pixel counts as moving: the weight of the past falls
    # off as exp(-(change / TOLERANCE)^2), so 2% noise (0.004 after the blur) keeps nearly all of it
    # and a moving edge (0.1 and more) none.
    TOLERANCE = 0.03

    def __init__(self, strength: float):
        self.strength = strength
        self.previous: tuple[Tensor, Tensor] | None = None  # (blurred input, output) of the last frame

    def reset(self) -> None:
        self.previous = None

    def __call__(self, content: Tensor, styled: Tensor) -> Tensor:
        import torch
        import torch.nn.functional as F

        blurred = F.avg_pool2d(content, 5, stride=1, padding=2, count_include_pad=False)
        frames = []
        for still, frame in zip(blurred, styled):
            if self.previous is not None and self.previous[0].shape == still.shape:
                change = (still - self.previous[0]).abs().amax(dim=0, keepdim=True)
                keep = self.strength * torch.exp(-((change / self.TOLERANCE) ** 2))
                frame = keep * self.previous[1] + (1 - keep) * frame
            self.previous = (still, frame)
            frames.append(frame)
        return torch.stack(frames)


class _Job:
    """One video on its way through: demux, decode, stylize in batches, encode, mux."""

    def __init__(
        self,
        av,
        source: Path,
        source_file,
        out,
        run,
        *,
        flicker,
        on_cut,
        steady,
        device,
        batch_size,
        frames: FrameRange,
        size,
        codec,
        codec_options,
        audio_codec,
        progress,
    ):
        self.av, self.source, self.out, self.run_network = av, source, out, run
        self.device, self.batch_size, self.frames, self.size = device, batch_size, frames, size
        self.progress = progress
        self.in_video = source_file.streams.video[0]
        self.in_video.thread_type = "AUTO"
        self.in_audio = source_file.streams.audio[0] if source_file.streams.audio else None
        self.source_file = source_file
        self.rate = self.in_video.average_rate or self.in_video.guessed_rate or Fraction(25)
        self.time_base = self.in_video.time_base or Fraction(1, 90_000)
        # The slice in seconds, from the nominal frame rate: audio is trimmed to it.
        origin = float((self.in_video.start_time or 0) * self.time_base)
        self.start_seconds = origin + frames.start / float(self.rate)
        self.stop_seconds = None if frames.stop is None else origin + frames.stop / float(self.rate)
        # Shift of the video timestamps (in its time base) so that the slice starts at zero.
        self.offset = round(self.start_seconds / self.time_base) if frames.start > 0 else 0
        # Every stream must exist before the first packet is written (that writes the file's header).
        width, height = self.in_video.codec_context.width, self.in_video.codec_context.height
        if not width or not height:
            raise StyletoolError("the video stream has no frame size", where=source)
        self.width, self.height = _even_size(width, height, size)
        self.out_video = out.add_stream(codec, rate=self.rate, options=dict(codec_options))
        self.out_video.width, self.out_video.height = self.width, self.height
        self.out_video.pix_fmt = "yuv420p"
        tags = self.out_video.codec_context
        tags.colorspace = tags.color_primaries = tags.color_trc = _BT709
        tags.color_range = _LIMITED_RANGE
        self.out_video.time_base = self.time_base
        self.out_audio, self.audio_encoder = self._audio_stream(audio_codec)
        self.pending: list[Any] = []  # decoded frames waiting for a full batch
        self.decoded = self.written = 0
        self.total = self._frame_count()
        self.flicker = flicker
        self.on_cut = on_cut
        self.steady = steady
        self.last_thumbnail: Tensor | None = None  # of the previous batch's last frame, for cut detection
        self.clock = time.perf_counter()

    def _frame_count(self) -> int:
        known = self.in_video.frames
        if not known and self.in_video.duration:
            known = int(float(self.in_video.duration * self.time_base) * float(self.rate))
        if not known and self.source_file.duration:
            known = int(self.source_file.duration / 1_000_000 * float(self.rate))
        stop = self.frames.stop if self.frames.stop is not None else known
        if known:
            stop = min(stop, known)
        return max(0, (stop or 0) - self.frames.start)

    def _audio_stream(self, fallback_codec: str):
        if self.in_audio is None:
            return None, None
        if self.in_audio.codec_context.name in self.out.supported_codecs:
            return self.out.add_stream_from_template(self.in_audio), None
        # The container cannot hold this codec (AAC in WebM, say): re-encode.
        stream = self.out.add_stream(fallback_codec, rate=self.in_audio.rate or 48_000)
        return stream, True

    def run(self) -> None:
        streams = [self.in_video] + ([self.in_audio] if self.in_audio is not None else [])
        audio_done = self.in_audio is None
        for packet in self._read(self.source_file.demux(*streams)):
            if packet.stream.type == "audio":
                audio_done = self._audio(packet)
            elif self.frames.stop is None or self.decoded < self.frames.stop:
                for frame in self._decode(packet):
                    index = self.decoded
                    self.decoded += 1
                    if index in self.frames:
                        self.pending.append(frame)
                        if len(self.pending) == self.batch_size:
                            self._flush()
            elif audio_done:
                break  # past the slice in both streams: the rest of the file is not needed
        self._flush()
        self._mux(self.out_video.encode())
        if self.audio_encoder:
            self._mux(self.out_audio.encode())

    def _read(self, items):
        """``items`` (packets or frames) with FFmpeg's errors while reading them told as the source's problem."""
        iterator = iter(items)
        while True:
            try:
                item = next(iterator)
            except StopIteration:
                return
            except self.av.FFmpegError as exc:
                raise StyletoolError(f"cannot read video: {describe(exc)}", where=self.source) from None
            yield item

    def _decode(self, packet) -> list:
        try:
            return packet.decode()
        except self.av.FFmpegError as exc:
            raise StyletoolError(f"cannot read video: {describe(exc)}", where=self.source) from None

    def _audio(self, packet) -> bool:
        """Copy (or re-encode) one audio packet if it falls in the slice; True once past its end."""
        if packet.pts is None or packet.dts is None:
            return False  # demuxer flush packets
        seconds = float(packet.pts * packet.time_base)
        if self.stop_seconds is not None and seconds >= self.stop_seconds - 1e-6:
            return True
        if self.frames.start > 0 and seconds < self.start_seconds - 1e-6:
            return False
        if self.audio_encoder:
            for frame in self._decode(packet):
                frame.pts = None  # the encoder counts samples from the start
                self._mux(self.out_audio.encode(frame))
            return False
        if self.frames.start > 0:
            shift = round(self.start_seconds / packet.time_base)
            packet.pts -= shift
            packet.dts -= shift
        packet.stream = self.out_audio
        self.out.mux(packet)
        return False

    def _flush(self) -> None:
        if not self.pending:
            return
        frames, self.pending = self.pending, []
        import torch

        pixels = torch.stack(
            [
                torch.from_numpy(
                    frame.to_ndarray(width=self.width, height=self.height, format="rgb24", **_from_yuv(frame))
                )
                for frame in frames
            ]
        ).permute(0, 3, 1, 2)
        content = pixels.to(self.device).float().div_(255)
        pieces = []
        for start, stop, new_shot in self._shots(content):
            if new_shot:
                self.on_cut()  # a new shot owes nothing to the last one
            piece = self.run_network(content[start:stop]).float().clamp(0, 1)
            pieces.append(piece if self.steady is None else self.steady(content[start:stop], piece))
        styled = torch.cat(pieces)
        if styled.shape[-2:] != content.shape[-2:]:
            raise StyletoolError(
                "the method returned frames of another size; it cannot stylize video", where=self.source
            )
        self.flicker.add(content, styled)
        rows = styled.mul(255).round_().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        for frame, row in zip(frames, rows):
            encoded = self.av.VideoFrame.from_ndarray(row, format="rgb24").reformat(format="yuv420p", **_TO_BT709)
            pts = frame.pts if frame.pts is not None else round(self.written / self.rate / self.time_base) + self.offset
            encoded.pts = pts - self.offset
            encoded.time_base = self.time_base
            self._mux(self.out_video.encode(encoded))
            self.written += 1
        elapsed = time.perf_counter() - self.clock
        self.progress(
            Progress(
                stage="frames",
                step=self.written,
                total=max(self.total, self.written),
                rate=self.written / elapsed if elapsed > 0 else None,
                unit="frames/s",
            )
        )

    def _shots(self, content: Tensor) -> list[tuple[int, int, bool]]:
        """The batch split at hard cuts: ``(start, stop, new_shot)`` ranges of frame indices.

        Without ``on_cut`` (no smoothing to reset) the batch stays whole. A cut
        is a jump in the mean absolute difference of 16x16 thumbnails between
        consecutive frames (the previous batch's last frame included).
        """
        if self.on_cut is None:
            return [(0, content.shape[0], False)]
        import torch
        import torch.nn.functional as F

        thumbnails = F.adaptive_avg_pool2d(content, 16)
        chain = thumbnails if self.last_thumbnail is None else torch.cat([self.last_thumbnail, thumbnails])
        first = chain.shape[0] - thumbnails.shape[0]  # 1 when the previous frame is in the chain
        self.last_thumbnail = thumbnails[-1:]
        change = (chain[1:] - chain[:-1]).abs().mean(dim=(1, 2, 3))
        # change[i] lies between chain[i] and chain[i + 1], which is batch frame i + 1 - first.
        cuts = {int(i) + 1 - first for i in torch.nonzero(change > CUT_CHANGE).flatten()}
        bounds = sorted(cuts | {0, content.shape[0]})
        return [(a, b, a in cuts) for a, b in zip(bounds[:-1], bounds[1:])]

    def _mux(self, packets) -> None:
        for packet in packets:
            self.out.mux(packet)


def source_matrix(frame: Any) -> str:
    """The YUV matrix a decoded frame is in: its tag, or when untagged what players assume from its height."""
    tagged = _MATRICES.get(int(frame.colorspace or 0))
    if tagged is not None:
        return tagged
    return "ITU709" if frame.height >= 720 else "ITU601"


# PyAV up to 14 applies the matrices only when source and destination differ. The matrix
# on the RGB side of a conversion is unused, so naming a different one there is harmless.
def _from_yuv(frame: Any) -> dict[str, str]:
    matrix = source_matrix(frame)
    full_range = int(frame.color_range or 0) == 2  # AVColorRange "JPEG": 0-255
    return {
        "src_colorspace": matrix,
        "dst_colorspace": "ITU601" if matrix == "ITU709" else "ITU709",
        "src_color_range": "JPEG" if full_range else "MPEG",
        "dst_color_range": "JPEG",
    }


_TO_BT709 = {
    "src_colorspace": "ITU601",
    "dst_colorspace": "ITU709",
    "src_color_range": "JPEG",
    "dst_color_range": "MPEG",
}
