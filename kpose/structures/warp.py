"""Affine warp matrices between an image and a top-down crop, and helpers to use them.

A warp matrix is `(..., 2, 3)` and maps source pixel coordinates `(x, y, 1)` to crop
pixel coordinates, as cv2's `warpAffine` expects. The functions are TF ops (usable in
`tf.data` and graphs, batched over leading axes); eager calls on numpy return numpy.
The matrices equal MMPose's `get_warp_matrix` / `get_udp_warp_matrix` (which solve for
them from three point pairs with cv2); here they are written in closed form.
"""

import math
from typing import Sequence, Union

import tensorflow as tf

from kpose.utils.numpy_io import as_float, numpy_io
from kpose.structures.bbox import _check_direction

Size = Union[Sequence[float], tf.Tensor]


def _matrix(a00, a01, a02, a10, a11, a12) -> tf.Tensor:
    row0 = tf.stack([a00, a01, a02], axis=-1)
    row1 = tf.stack([a10, a11, a12], axis=-1)
    return tf.stack([row0, row1], axis=-2)


def _broadcast(*tensors):
    shape = tensors[0].shape
    for t in tensors[1:]:
        shape = tf.broadcast_static_shape(shape, t.shape)
    if shape.is_fully_defined():
        return [tf.broadcast_to(t, shape) for t in tensors]
    dyn = tf.shape(tensors[0])
    for t in tensors[1:]:
        dyn = tf.broadcast_dynamic_shape(dyn, tf.shape(t))
    return [tf.broadcast_to(t, dyn) for t in tensors]


@numpy_io
def get_warp_matrix(
    center,
    scale,
    rot,
    output_size: Size,
    shift: Size = (0.0, 0.0),
    inv: bool = False,
    fix_aspect_ratio: bool = True,
) -> tf.Tensor:
    """The affine matrix that maps a rotated box of the source image onto a crop.

    The box `center ± scale / 2`, rotated by `rot` degrees about its centre, lands on the
    crop `[0, w] x [0, h]` with the box centre at the crop centre `(w / 2, h / 2)`.

    Args:
        center: `(..., 2)` box centre (x, y) in source pixels.
        scale: `(..., 2)` box size (w, h) in source pixels.
        rot: `(...)` rotation in degrees (positive turns the box anticlockwise in the
            image, i.e. the crop shows the content rotated clockwise).
        output_size: crop size `(w, h)`.
        shift: shift of the box centre as a fraction of `scale`.
        inv: return the crop -> source matrix instead.
        fix_aspect_ratio: scale both axes by `w / scale_w` (the box height is ignored);
            if False, x and y are scaled independently to fill the crop.

    Returns:
        `(..., 2, 3)` float32 matrix.
    """
    f64 = tf.float64
    center = as_float(center, f64)
    scale = as_float(scale, f64)
    rot = as_float(rot, f64)
    out_w, out_h = tf.unstack(as_float(output_size, f64))
    shift = as_float(shift, f64)

    src_center = center + scale * shift
    sx = out_w / scale[..., 0]
    sy = sx if fix_aspect_ratio else out_h / scale[..., 1]
    theta = rot * (math.pi / 180.0)
    cos, sin = tf.cos(theta), tf.sin(theta)
    cx, cy = src_center[..., 0], src_center[..., 1]
    cos, sin, sx, sy, cx, cy = _broadcast(cos, sin, sx, sy, cx, cy)
    dcx, dcy = out_w * 0.5, out_h * 0.5
    if inv:
        # source = R(rot) diag(1/sx, 1/sy) (crop - crop_centre) + box_centre
        a00, a01 = cos / sx, -sin / sy
        a10, a11 = sin / sx, cos / sy
        mat = _matrix(a00, a01, cx - a00 * dcx - a01 * dcy, a10, a11, cy - a10 * dcx - a11 * dcy)
    else:
        # crop = diag(sx, sy) R(-rot) (source - box_centre) + crop_centre
        a00, a01 = sx * cos, sx * sin
        a10, a11 = -sy * sin, sy * cos
        mat = _matrix(a00, a01, dcx - a00 * cx - a01 * cy, a10, a11, dcy - a10 * cx - a11 * cy)
    return tf.cast(mat, tf.float32)


@numpy_io
def get_udp_warp_matrix(center, scale, rot, output_size: Size) -> tf.Tensor:
    """The affine matrix of Unbiased Data Processing (UDP, CVPR 2020).

    Maps the box `center ± scale / 2` onto the crop so that the box edges land on the
    first and last pixel centres (`(size - 1) / scale` per axis). Note that MMPose's UDP
    matrix rotates the opposite way to `get_warp_matrix` for the same `rot`; kept here.

    Args:
        center: `(..., 2)` box centre (x, y) in source pixels.
        scale: `(..., 2)` box size (w, h) in source pixels.
        rot: `(...)` rotation in degrees.
        output_size: crop size `(w, h)`.

    Returns:
        `(..., 2, 3)` float32 matrix.
    """
    f64 = tf.float64
    center = as_float(center, f64)
    scale = as_float(scale, f64)
    rot = as_float(rot, f64)
    out_w, out_h = tf.unstack(as_float(output_size, f64))
    sx = (out_w - 1.0) / scale[..., 0]
    sy = (out_h - 1.0) / scale[..., 1]
    theta = rot * (math.pi / 180.0)
    cos, sin = tf.cos(theta), tf.sin(theta)
    cx, cy = center[..., 0], center[..., 1]
    cos, sin, sx, sy, cx, cy = _broadcast(cos, sin, sx, sy, cx, cy)
    half_w, half_h = _broadcast(scale[..., 0] * 0.5, scale[..., 1] * 0.5)
    mat = _matrix(
        cos * sx,
        -sin * sx,
        sx * (-cx * cos + cy * sin + half_w),
        sin * sy,
        cos * sy,
        sy * (-cx * sin - cy * cos + half_h),
    )
    return tf.cast(mat, tf.float32)


@numpy_io
def get_flip_matrix(image_size: Size, direction: str = "horizontal") -> tf.Tensor:
    """The `(2, 3)` affine matrix of an image flip: x -> w - 1 - x and/or y -> h - 1 - y.

    Composing a warp with it (`compose_affine(warp, flip)`) warps the flipped image
    without flipping any pixels.
    """
    _check_direction(direction)
    w, h = tf.unstack(as_float(image_size))
    one, zero = tf.constant(1.0), tf.constant(0.0)
    fx = direction in ("horizontal", "diagonal")
    fy = direction in ("vertical", "diagonal")
    return _matrix(
        -one if fx else one, zero, w - 1.0 if fx else zero,
        zero, -one if fy else one, h - 1.0 if fy else zero,
    )


@numpy_io
def invert_affine(matrix) -> tf.Tensor:
    """Invert affine matrices `(..., 2, 3)`."""
    m = as_float(matrix, tf.float64)
    a, b, tx = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    c, d, ty = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    det = a * d - b * c
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    inv = _matrix(ia, ib, -(ia * tx + ib * ty), ic, id_, -(ic * tx + id_ * ty))
    return tf.cast(inv, tf.float32)


@numpy_io
def compose_affine(outer, inner) -> tf.Tensor:
    """The matrix `(..., 2, 3)` that applies `inner` first, then `outer`."""
    outer = as_float(outer)
    inner = as_float(inner)
    lin = tf.matmul(outer[..., :2], inner[..., :2])
    trans = tf.linalg.matvec(outer[..., :2], inner[..., 2]) + outer[..., 2]
    return tf.concat([lin, trans[..., None]], axis=-1)


@numpy_io
def transform_points(points, matrix) -> tf.Tensor:
    """Apply affine `matrix (..., 2, 3)` to `points (..., N, 2)` (x, y); returns `(..., N, 2)`.

    Leading axes of `points` and `matrix` broadcast; a single `(2, 3)` matrix applies to
    any batch of points.
    """
    points = as_float(points)
    matrix = as_float(matrix)
    lin = matrix[..., :2]
    trans = matrix[..., 2]
    return tf.linalg.matmul(points, lin, transpose_b=True) + trans[..., None, :]
