"""Bounding-box formats: xyxy, xywh and (center, scale), all in pixels.

Boxes are `(..., 4)`; centers and scales are `(..., 2)` as `(x, y)` and `(w, h)`. The
functions are TF ops (usable in `tf.data` and graphs); eager calls on numpy return numpy.
They follow MMPose's `mmpose.structures.bbox` conventions, so numbers carry over.
"""

from typing import Sequence, Tuple, Union

import tensorflow as tf

from kpose.utils.numpy_io import as_float, numpy_io

FLIP_DIRECTIONS = ("horizontal", "vertical", "diagonal")


@numpy_io
def bbox_xyxy2cs(bbox, padding: float = 1.0) -> Tuple[tf.Tensor, tf.Tensor]:
    """Convert boxes `(..., 4)` xyxy to `center (..., 2)` and `scale (..., 2)`.

    `scale` is the box width and height multiplied by `padding`.
    """
    bbox = as_float(bbox)
    center = (bbox[..., :2] + bbox[..., 2:]) * 0.5
    scale = (bbox[..., 2:] - bbox[..., :2]) * padding
    return center, scale


@numpy_io
def bbox_xywh2cs(bbox, padding: float = 1.0) -> Tuple[tf.Tensor, tf.Tensor]:
    """Convert boxes `(..., 4)` xywh to `center (..., 2)` and `scale (..., 2)`."""
    bbox = as_float(bbox)
    center = bbox[..., :2] + bbox[..., 2:] * 0.5
    scale = bbox[..., 2:] * padding
    return center, scale


@numpy_io
def bbox_cs2xyxy(center, scale, padding: float = 1.0) -> tf.Tensor:
    """Convert `center (..., 2)` and `scale (..., 2)` to xyxy boxes `(..., 4)`.

    The inverse of `bbox_xyxy2cs` with the same `padding`.
    """
    center = as_float(center)
    wh = as_float(scale) / padding
    top_left = center - 0.5 * wh
    return tf.concat([top_left, top_left + wh], axis=-1)


@numpy_io
def bbox_cs2xywh(center, scale, padding: float = 1.0) -> tf.Tensor:
    """Convert `center (..., 2)` and `scale (..., 2)` to xywh boxes `(..., 4)`."""
    center = as_float(center)
    wh = as_float(scale) / padding
    return tf.concat([center - 0.5 * wh, wh], axis=-1)


@numpy_io
def bbox_xyxy2xywh(bbox) -> tf.Tensor:
    """Convert boxes `(..., 4)` from xyxy to xywh."""
    bbox = as_float(bbox)
    return tf.concat([bbox[..., :2], bbox[..., 2:] - bbox[..., :2]], axis=-1)


@numpy_io
def bbox_xywh2xyxy(bbox) -> tf.Tensor:
    """Convert boxes `(..., 4)` from xywh to xyxy."""
    bbox = as_float(bbox)
    return tf.concat([bbox[..., :2], bbox[..., :2] + bbox[..., 2:]], axis=-1)


@numpy_io
def fix_aspect_ratio(bbox_scale, aspect_ratio) -> tf.Tensor:
    """Grow `bbox_scale (..., 2)` (w, h) along one side until `w / h == aspect_ratio`.

    The box only grows, never shrinks: a box wider than the ratio keeps its width and
    gets a larger height, and vice versa (as MMPose's TopdownAffine).
    """
    bbox_scale = as_float(bbox_scale)
    aspect_ratio = tf.cast(aspect_ratio, tf.float32)
    w, h = bbox_scale[..., 0], bbox_scale[..., 1]
    wide = w > h * aspect_ratio
    return tf.stack(
        [tf.where(wide, w, h * aspect_ratio), tf.where(wide, w / aspect_ratio, h)], axis=-1
    )


def _check_direction(direction: str) -> None:
    if direction not in FLIP_DIRECTIONS:
        raise ValueError(f"direction must be one of {FLIP_DIRECTIONS}, got {direction!r}")


@numpy_io
def flip_bbox(
    bbox,
    image_size: Union[Sequence[float], tf.Tensor],
    bbox_format: str = "xywh",
    direction: str = "horizontal",
) -> tf.Tensor:
    """Flip boxes inside an image of `image_size` (w, h).

    Args:
        bbox: `(..., 4)` for the 'xyxy' and 'xywh' formats, `(..., 2)` for 'center'.
        image_size: `(w, h)` of the image; a pixel x maps to `w - 1 - x` (MMPose's
            convention: pixel centres at integer coordinates).
        bbox_format: 'xyxy', 'xywh' or 'center'.
        direction: 'horizontal', 'vertical' or 'diagonal'.

    Returns:
        The flipped boxes, same shape as `bbox`.
    """
    _check_direction(direction)
    if bbox_format not in ("xyxy", "xywh", "center"):
        raise ValueError(f"bbox_format must be 'xyxy', 'xywh' or 'center', got {bbox_format!r}")
    bbox = as_float(bbox)
    size = as_float(image_size)
    flip_x = direction in ("horizontal", "diagonal")
    flip_y = direction in ("vertical", "diagonal")
    if bbox_format == "xyxy":
        x1, y1, x2, y2 = tf.unstack(bbox, axis=-1)
        if flip_x:
            x1, x2 = size[0] - 1.0 - x2, size[0] - 1.0 - x1
        if flip_y:
            y1, y2 = size[1] - 1.0 - y2, size[1] - 1.0 - y1
        return tf.stack([x1, y1, x2, y2], axis=-1)
    # 'xywh' and 'center' flip the first point only (MMPose's convention for both).
    x, y = bbox[..., 0], bbox[..., 1]
    if flip_x:
        x = size[0] - 1.0 - x
    if flip_y:
        y = size[1] - 1.0 - y
    return tf.concat([tf.stack([x, y], axis=-1), bbox[..., 2:]], axis=-1)
