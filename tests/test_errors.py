"""Exceptions become the problem part of one error line, the same way everywhere."""

from __future__ import annotations

import errno

from styletool.errors import describe


def test_an_os_error_gives_its_own_words_without_errno_or_path():
    error = OSError(errno.ENOSPC, "No space left on device", "/tmp/out.png")
    assert describe(error) == "no space left on device"


def test_long_messages_keep_their_first_line_cut_short():
    error = RuntimeError("Export failed.\n  at frame 1\n  at frame 2")
    assert describe(error) == "export failed"
    assert describe(ValueError("x" * 500), limit=50) == "x" * 47 + "..."


def test_acronyms_stay_capitalized_and_empty_messages_name_the_exception():
    assert describe(RuntimeError("CUDA out of memory")) == "CUDA out of memory"
    assert describe(KeyError()) == "KeyError"
    assert describe(ImportError("No module named 'foo'"), with_type=True) == "ImportError: No module named 'foo'"
