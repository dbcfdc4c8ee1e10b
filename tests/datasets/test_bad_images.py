"""Issue 8's bad image files through the decode path and the pipeline.

Every kind of file is written here with cv2/numpy. Readable oddities (grayscale,
RGBA, 16-bit, EXIF-rotated) must give the pixels cv2.imread(IMREAD_COLOR) gives
MMPose; unreadable files (empty, missing, truncated, corrupt) are skipped and counted
in training and named in evaluation.
"""

import logging
import os
import struct
import types

import cv2
import numpy as np
import pytest
import tensorflow as tf

from kpose.datasets.pipeline import build_topdown_pipeline, find_unreadable_images, iterate_checked
from kpose.datasets.transforms import GetBBoxCenterScale, TopdownAffine
from kpose.datasets.transforms._image import check_image_bytes, decode_window, image_shape, jpeg_header

K = 17
META = types.SimpleNamespace(
    flip_indices=[0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15],
    upper_body_ids=list(range(11)), lower_body_ids=list(range(11, 17)),
    joint_weights=np.ones(K, np.float32))
H, W = 48, 64
JPEG_444_Q100 = [cv2.IMWRITE_JPEG_QUALITY, 100, cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                 cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]


class _Codec:
    def encode(self, keypoints, keypoints_visible):
        return {"keypoint_weights": keypoints_visible}


def _blocks(h=H, w=W, seed=0):
    """An RGB image of flat 8x8 blocks: JPEG (4:4:4, q100) keeps it nearly exactly."""
    small = np.random.default_rng(seed).integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def _jpeg(rgb, params=JPEG_444_Q100):
    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]) if rgb.ndim == 3 else rgb, params)
    assert ok
    return data.tobytes()


def _with_exif(jpeg, orientation, little_endian, after_soi=False, thumbnail=b""):
    """Insert an APP1 EXIF segment (IFD0: Make, Orientation) after the JFIF APP0 (or
    right after SOI, where cameras write it)."""
    e = "<" if little_endian else ">"
    tiff = (b"II*\0" if little_endian else b"MM\0*") + struct.pack(e + "I", 8) + struct.pack(e + "H", 2)
    tiff += struct.pack(e + "HHI", 0x010F, 2, 4) + b"kps\0"
    tiff += struct.pack(e + "HHIH", 0x0112, 3, 1, orientation) + b"\0\0" + struct.pack(e + "I", 0)
    app1 = b"Exif\0\0" + tiff + thumbnail
    app0_end = 2 if after_soi else 4 + struct.unpack(">H", jpeg[4:6])[0]
    return jpeg[:app0_end] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[app0_end:]


# stored image -> displayed image for each EXIF orientation (what cv2.imread shows)
DISPLAY = {1: lambda a: a, 2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: a.transpose(1, 0, 2), 6: lambda a: np.rot90(a, -1),
           7: lambda a: np.rot90(a, 2).transpose(1, 0, 2), 8: lambda a: np.rot90(a, 1)}
# displayed -> stored (the inverse), to write a file that displays a given image
STORE = {1: DISPLAY[1], 2: DISPLAY[2], 3: DISPLAY[3], 4: DISPLAY[4], 5: DISPLAY[5],
         6: DISPLAY[8], 7: DISPLAY[7], 8: DISPLAY[6]}


def _cv2_rgb(data):
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_as_cv2(orientation):
    stored = _blocks(seed=orientation)
    data = _with_exif(_jpeg(stored), orientation, little_endian=orientation % 2 == 0,
                      after_soi=orientation > 4)
    displayed = np.ascontiguousarray(DISPLAY[orientation](stored))
    reference = _cv2_rgb(data)  # what MMPose's LoadImage sees
    assert reference.shape == displayed.shape
    assert np.abs(reference.astype(int) - displayed).max() <= 3
    assert int(jpeg_header(tf.constant(data))[0]) == orientation
    np.testing.assert_array_equal(image_shape(tf.constant(data)).numpy(), displayed.shape[:2])
    plain = tf.io.decode_jpeg(_jpeg(stored), channels=3).numpy()  # TF's stored pixels
    for window in ([0, 0, *displayed.shape[:2]], [5, 9, 17, 21], [1, 30, 16, 10]):
        y, x, h, w = window
        got = decode_window(tf.constant(data), tf.constant(window)).numpy()
        np.testing.assert_array_equal(got, DISPLAY[orientation](plain)[y:y + h, x:x + w])
        whole = decode_window(tf.constant(data), tf.constant(window), partial_jpeg=False).numpy()
        np.testing.assert_array_equal(whole, got)


def _records(paths, boxes=None, keypoints=None):
    n = len(paths)
    boxes = np.tile([[8.0, 6.0, 40.0, 40.0]], (n, 1)) if boxes is None else boxes
    if keypoints is None:
        keypoints = np.tile(np.linspace([10, 8], [38, 38], K), (n, 1, 1))
    return {
        "img_path": np.array(paths), "img_id": np.arange(n), "id": np.arange(n) + 100,
        "bbox": np.asarray(boxes, np.float32), "bbox_score": np.ones(n, np.float32),
        "keypoints": np.asarray(keypoints, np.float32),
        "keypoints_visible": np.ones((n, K), np.float32), "area": np.full(n, 100.0, np.float32),
    }


def _eval(records, batch_size=1):
    return build_topdown_pipeline(records, META, _Codec(), (24, 32), train=False,
                                  batch_size=batch_size)


def _crop_from_pixels(rgb, box):
    sample = GetBBoxCenterScale()({"bbox": np.asarray(box, np.float32)})
    sample["img"] = rgb
    return TopdownAffine((24, 32))(sample)["img"].numpy()


def test_exif_rotated_jpeg_keeps_keypoints_on_their_pixels(tmp_path):
    """A file displaying image D (through its EXIF tag) crops like a plain file of D."""
    displayed = _blocks(seed=11)
    displayed[16:24, 16:24] = 255  # a white (8-aligned) block where the keypoints are
    paths, boxes = [], []
    for orientation in range(1, 9):
        stored = np.ascontiguousarray(STORE[orientation](displayed))
        path = tmp_path / f"exif{orientation}.jpg"
        path.write_bytes(_with_exif(_jpeg(stored), orientation, little_endian=True))
        paths.append(str(path))
    keypoints = np.tile([[20.0, 20.0]], (8, K, 1))
    records = _records(paths, np.tile([[10.0, 10.0, 30.0, 30.0]], (8, 1)), keypoints)
    crops, metas = [], []
    for images, meta in _eval(records):
        crops.append(images.numpy()[0])
        metas.append(meta)
    # the keypoints travel untouched, in displayed-image pixels
    np.testing.assert_allclose(np.concatenate([m["gt_keypoints"] for m in metas]), keypoints)
    expected = _crop_from_pixels(displayed, [10.0, 10.0, 30.0, 30.0])
    for orientation, crop in enumerate(crops, 1):
        assert np.abs(crop.astype(int) - expected).max() <= 3, orientation
        # the keypoint (20, 20) maps to the crop's centre, inside the white block
        assert np.all(crop[14:18, 10:14] >= 250), orientation


def _png(array):
    ok, data = cv2.imencode(".png", array)
    assert ok
    return data.tobytes()


def test_readable_oddities_decode_as_cv2(tmp_path):
    rng = np.random.default_rng(3)
    gray = _blocks()[..., 0]
    files = {
        "gray.png": _png(gray),
        "gray.jpg": _jpeg(gray, [cv2.IMWRITE_JPEG_QUALITY, 100]),
        "rgba.png": _png(np.dstack([_blocks()[..., ::-1], rng.integers(0, 256, (H, W), dtype=np.uint8)])),
        "deep.png": _png(rng.integers(0, 65536, (H, W, 3), dtype=np.uint16)),
        "deep_gray.png": _png(rng.integers(0, 65536, (H, W), dtype=np.uint16)),
        "plain.jpg": _jpeg(_blocks()),
    }
    paths = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    assert find_unreadable_images(paths) == []
    box = [8.0, 6.0, 40.0, 40.0]
    crops = [images.numpy()[0] for images, _ in _eval(_records(paths))]
    for (name, data), crop in zip(files.items(), crops):
        reference = _cv2_rgb(data)  # MMPose: mmcv.imfrombytes -> cv2.imdecode(IMREAD_COLOR)
        whole = check_image_bytes(tf.constant(data)).numpy()
        tolerance = 0 if name.endswith(".png") else 2
        assert np.abs(whole.astype(int) - reference).max() <= tolerance, name
        assert np.abs(crop.astype(int) - _crop_from_pixels(reference, box)).max() <= tolerance, name
    deep = np.frombuffer(files["deep.png"], np.uint8)
    assert cv2.imdecode(deep, cv2.IMREAD_UNCHANGED).dtype == np.uint16  # really 16-bit


def _bad_files(folder):
    """(readable paths, unreadable paths) with one of each broken kind."""
    good = []
    for i in range(3):
        path = os.path.join(folder, f"good{i}.jpg")
        cv2.imwrite(path, _blocks(seed=i))
        good.append(path)
    data = _jpeg(_blocks(240, 320, seed=5))
    bad = {
        "empty.jpg": b"",
        "truncated.jpg": data[: len(data) * 3 // 5],  # the crop's rows are intact; the end is not
        "garbage.jpg": b"\xff\xd8\xff\xe0 not really a jpeg",
        "garbage.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
        "text.jpg": b"hello",
        "stub.jpg": b"\xff\xd8\xff",
        "signature.png": b"\x89PNG\r\n\x1a\n",
    }
    paths = []
    for name, content in bad.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(content)
        paths.append(os.path.join(folder, name))
    paths.append(os.path.join(folder, "missing.jpg"))
    return good, paths


def test_truncated_jpeg_is_caught_even_when_the_window_is_intact():
    data = _jpeg(_blocks(240, 320, seed=5))
    cut = data[: len(data) * 3 // 5]
    tf.io.decode_and_crop_jpeg(cut, [0, 0, 4, 4], channels=3)  # TF alone accepts the top rows
    with pytest.raises(tf.errors.InvalidArgumentError, match="truncated JPEG"):
        decode_window(tf.constant(cut), tf.constant([0, 0, 4, 4]))
    assert cv2.imdecode(np.frombuffer(cut, np.uint8), cv2.IMREAD_COLOR) is None  # as cv2
    # an EXIF thumbnail's own end marker does not hide the cut
    tagged = _with_exif(data, 1, True, thumbnail=b"\xff\xd8\xff\xdb" + bytes(60) + b"\xff\xd9")
    with pytest.raises(tf.errors.InvalidArgumentError, match="truncated JPEG"):
        decode_window(tf.constant(tagged[: len(tagged) * 3 // 5]), tf.constant([0, 0, 4, 4]))
    # trailing bytes after the end-of-image marker are fine
    decode_window(tf.constant(data + b"\0" * 100), tf.constant([0, 0, 4, 4]))
    decode_window(tf.constant(tagged), tf.constant([0, 0, 4, 4]))


def test_training_skips_and_counts_unreadable_files(tmp_path, caplog):
    good, bad = _bad_files(str(tmp_path))
    paths = [good[0], bad[0], good[1], *bad[1:4], good[2], *bad[4:]]  # skips between and at the end
    records = _records(paths)
    ds = build_topdown_pipeline(records, META, _Codec(), (24, 32), train=True, batch_size=1,
                                shuffle=False)
    with caplog.at_level(logging.WARNING, logger="kpose.datasets.pipeline"):
        batches = list(ds)
    assert len(batches) == len(good)
    messages = [r.getMessage() for r in caplog.records]
    assert any(f"{len(bad)} training sample(s) skipped" in m for m in messages), messages


def test_evaluation_names_each_unreadable_file(tmp_path):
    good, bad = _bad_files(str(tmp_path))
    assert find_unreadable_images(good + bad) == bad
    paths = [good[0], *bad, good[1]]
    with pytest.raises(ValueError) as raised:
        # one batch holding every file: the error names each unreadable one
        list(iterate_checked(_eval(_records(paths), batch_size=len(paths)), paths, len(paths)))
    message = str(raised.value)
    assert f"cannot decode {len(bad)} image file(s)" in message
    for path in bad:
        assert path in message
    assert good[0] not in message


def test_damaged_scan_data_decodes_as_cv2_does(tmp_path):
    """libjpeg recovers from garbled entropy data (end marker present): so do cv2 and we."""
    data = bytearray(_jpeg(_blocks(240, 320, seed=6)))
    middle = len(data) // 2
    data[middle:middle + 200] = bytes(200)
    path = tmp_path / "damaged.jpg"
    path.write_bytes(bytes(data))
    assert cv2.imread(str(path), cv2.IMREAD_COLOR) is not None
    assert find_unreadable_images([str(path)]) == []
    whole = check_image_bytes(tf.constant(bytes(data))).numpy()
    assert whole.shape == (240, 320, 3)
