"""Image sizes from file headers, for annotation formats that do not store them."""

from __future__ import annotations

import struct

import cv2
import numpy as np

# JPEG start-of-frame markers (baseline, progressive, lossless, ...), which hold the size.
_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def read_image_size(path: str) -> tuple[int, int]:
    """``(height, width)`` of an image file: parsed from the JPEG / PNG header (no
    decoding), other formats decoded with OpenCV.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a readable image.
    """
    with open(path, "rb") as f:
        head = f.read(24)
        if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
            width, height = struct.unpack(">II", head[16:24])
            return int(height), int(width)
        if head[:2] == b"\xff\xd8":
            size = _jpeg_size(f)
            if size is not None:
                return size
    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"{path} is not a readable image")
    return int(image.shape[0]), int(image.shape[1])


def _jpeg_size(f) -> "tuple[int, int] | None":
    f.seek(2)
    while True:
        byte = f.read(1)
        while byte and byte != b"\xff":
            byte = f.read(1)
        while byte == b"\xff":  # fill bytes
            byte = f.read(1)
        if not byte:
            return None
        marker = byte[0]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            continue  # markers without a length
        length_bytes = f.read(2)
        if len(length_bytes) < 2:
            return None
        length = struct.unpack(">H", length_bytes)[0]
        if marker in _SOF_MARKERS:
            data = f.read(5)
            if len(data) < 5:
                return None
            height, width = struct.unpack(">HH", data[1:5])
            return (int(height), int(width)) if height and width else None
        f.seek(length - 2, 1)


def image_sizes(paths: "list[str]") -> np.ndarray:
    """int32 ``(N, 2)`` ``(h, w)`` of each path, reading each distinct file once."""
    cache: dict[str, tuple[int, int]] = {}
    out = np.zeros((len(paths), 2), dtype=np.int32)
    for i, path in enumerate(paths):
        if path not in cache:
            cache[path] = read_image_size(path)
        out[i] = cache[path]
    return out
