"""Export a top-down estimator: SavedModel, TFLite (fp32 / fp16 / int8) and `.keras`.

Every artifact takes raw uint8 RGB pixels (normalisation is the model's first layer) and
carries a metadata json beside it (`<artifact>.json`) with what an app needs: keypoint
names, skeleton, flip pairs, colours, input size, normalisation, codec, kpose version,
the gin config, and the signatures' inputs and outputs.

Signatures (SavedModel; TFLite carries `crops` only, see `export_tflite`):

- `crops(crops uint8 (B, H, W, 3))` at the model's input size ->
  `keypoints (B, K, 2)` in crop pixels and `keypoint_scores (B, K)`.
- `image(image uint8 (H, W, 3), bboxes float32 (N, 4) xyxy)`: each box is padded by
  1.25, grown to the input aspect ratio and cropped in the graph with the bilinear warp of
  the evaluation pipeline -> `keypoints (N, K, 2)` in image pixels, `keypoint_scores`.

With `decode="none"` both signatures return the raw head outputs instead (flip test still
in the graph), for runtimes whose GPU delegates lack ArgMax / GatherND; `image` then also
returns each box's `center` and `scale` so the app maps crop pixels back itself. The
metadata's `decode` entry says how, per codec. Structured outputs (SimCC's pair) are
flattened to `outputs_0`, `outputs_1`, ...; a VisPredictHead adds `keypoint_visibility`.

int8 TFLite quantises the network and keeps what follows it (flip-back, flip averaging,
decode) in float, see `export_tflite(int8_float=...)`.
"""

import datetime
import json
import logging
import os
import re
import tempfile
from typing import Any, Callable, Dict, Iterable, Optional, Sequence

import gin
import keras
import numpy as np
import tensorflow as tf

from kpose.datasets.transforms._image import warp_affine_tf
from kpose.structures.bbox import bbox_xyxy2cs, fix_aspect_ratio
from kpose.structures.warp import get_warp_matrix, invert_affine

FORMATS = ("saved_model", "tflite", "keras")
QUANTIZE = ("none", "fp16", "int8")
DECODE = ("graph", "none")
# MMPose's GetBBoxCenterScale padding, as the evaluation pipeline.
BBOX_PADDING = 1.25


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, received {value!r}")


def _output_dict(outputs: Any) -> Dict[str, tf.Tensor]:
    """Raw head outputs as flat named tensors: `outputs` for one tensor, else
    `outputs_0`, `outputs_1`, ... in `tf.nest.flatten` order (SimCC's `(x, y)` pair ->
    `outputs_0` = x, `outputs_1` = y). Signatures cannot return nested structures."""
    if isinstance(outputs, dict):
        return {str(k): v for k, v in outputs.items()}
    flat = tf.nest.flatten(outputs)
    if len(flat) == 1 and not isinstance(outputs, (tuple, list)):
        return {"outputs": flat[0]}
    return {f"outputs_{i}": v for i, v in enumerate(flat)}


def _name_order(name: str):
    match = re.fullmatch(r"outputs_(\d+)", name)
    return int(match.group(1)) if match else -1


def raw_outputs(out: Dict[str, Any], structure: Any = None) -> Any:
    """Inverse of `_output_dict`: the head outputs a codec decodes, from a signature's
    named outputs (`outputs`, or `outputs_0`, `outputs_1`, ...; other keys ignored).

    Args:
        out: the signature's outputs.
        structure: the nesting to rebuild (the metadata's `decode.output_structure`);
            None gives a tuple of the `outputs_i` in order.
    """
    if "outputs" in out:
        return out["outputs"]
    count = sum(1 for k in out if re.fullmatch(r"outputs_\d+", str(k)))
    if count == 0:
        raise ValueError(f"no raw outputs (outputs, outputs_0, ...) among {sorted(out)}")
    flat = [out[f"outputs_{i}"] for i in range(count)]
    if structure is None:
        return tuple(flat)
    return tf.nest.pack_sequence_as(_as_tuples(structure), flat)


def _as_tuples(structure: Any) -> Any:
    # json turns tuples into lists; codecs test for tuple/list either way.
    if isinstance(structure, list):
        return tuple(_as_tuples(s) for s in structure)
    return structure


def crop_boxes(image: tf.Tensor, bboxes: tf.Tensor, input_size: Sequence[int],
               padding: float = BBOX_PADDING):
    """Crops person boxes out of one image as the evaluation pipeline does, in TF ops.

    GetBBoxCenterScale (padding) -> aspect ratio fixed to `input_size` -> `get_warp_matrix`
    -> the bilinear, zero-filled warp of `TopdownAffine(backend="tf")`.

    Args:
        image: (H, W, 3) uint8 RGB.
        bboxes: (N, 4) xyxy boxes in image pixels.
        input_size: crop size (w, h).
        padding: box padding factor.

    Returns:
        crops (N, h, w, 3) uint8, centers (N, 2) and scales (N, 2) (aspect-fixed), the
        meta that maps crop pixels back to the image.
    """
    w, h = (int(v) for v in input_size)
    center, scale = bbox_xyxy2cs(tf.cast(bboxes, tf.float32), padding=padding)
    scale = fix_aspect_ratio(scale, w / h)
    rotation = tf.zeros(tf.shape(center)[:1], tf.float32)
    crop_to_source = invert_affine(get_warp_matrix(center, scale, rotation, (w, h)))
    crops = tf.map_fn(lambda m: warp_affine_tf(image, m, (w, h)), crop_to_source,
                      fn_output_signature=tf.TensorSpec((h, w, 3), tf.uint8))
    return crops, center, scale


def crop_to_image(keypoints: tf.Tensor, center: tf.Tensor, scale: tf.Tensor,
                  input_size: Sequence[int]) -> tf.Tensor:
    """Crop pixels (N, K, 2) -> image pixels, as `TopdownPoseEstimator.predict_step`."""
    size = tf.constant([float(v) for v in input_size], tf.float32)
    center = center[:, None, :]
    scale = scale[:, None, :]
    return keypoints / size * scale + center - 0.5 * scale


class _PoseModule(tf.Module):
    """The graph an artifact holds: the estimator plus crop / decode around it."""

    def __init__(self, model: keras.Model, decode: str = "graph"):
        super().__init__(name="kpose_pose")
        _check_choice("decode", decode, DECODE)
        self.model = model
        self.decode = decode
        self.output_structure = None  # set when a signature is traced
        self.input_size = tuple(int(v) for v in model.codec.input_size)
        w, h = self.input_size
        self.crops = tf.function(self._crops, input_signature=[
            tf.TensorSpec((None, h, w, 3), tf.uint8, name="crops")])
        self.image = tf.function(self._image, input_signature=[
            tf.TensorSpec((None, None, 3), tf.uint8, name="image"),
            tf.TensorSpec((None, 4), tf.float32, name="bboxes")])

    def _crops(self, crops):
        outputs = self.model.predict_outputs(crops)
        visibility = None
        if callable(getattr(self.model.head, "split_outputs", None)):
            # VisPredictHead: the codec decodes the pose part; visibility rides along.
            outputs, visibility = self.model.head.split_outputs(outputs)
        names = _output_dict(outputs)
        # Names in the raw outputs' nesting (json lists), for the metadata.
        self.output_structure = _to_jsonable(tf.nest.pack_sequence_as(
            outputs, sorted(names, key=_name_order)) if not isinstance(outputs, dict)
            else sorted(names))
        if self.decode == "none":
            results = names
        else:
            keypoints, scores = self.model.codec.batch_decode(outputs)
            results = {"keypoints": tf.cast(keypoints, tf.float32),
                       "keypoint_scores": tf.cast(scores, tf.float32)}
        if visibility is not None:
            results["keypoint_visibility"] = tf.cast(visibility, tf.float32)
        return results

    def _image(self, image, bboxes):
        crops, center, scale = crop_boxes(image, bboxes, self.input_size)
        results = self._crops(crops)
        if self.decode == "none":
            results.update({"center": center, "scale": scale})
            return results
        results["keypoints"] = crop_to_image(results["keypoints"], center, scale,
                                             self.input_size)
        return results


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _kpose_version() -> str:
    try:
        from importlib.metadata import version
        return version("kpose")
    except Exception:  # noqa: BLE001 (not installed: a source checkout)
        return "unknown (source checkout)"


def _codec_decode_rule(codec: Any) -> str:
    """How to turn a codec's raw outputs into keypoints (crop pixels) and scores, in
    words an app developer can implement without kpose."""
    name = type(codec).__name__
    get = lambda attr, default=None: getattr(codec, attr, default)  # noqa: E731
    if name == "MSRAHeatmap":
        size = list(get("heatmap_size"))
        if get("unbiased"):
            refine = (f"DARK refinement: blur each map with a {get('blur_kernel_size')}x"
                      f"{get('blur_kernel_size')} Gaussian (rescaled to its old maximum), "
                      "clamp at 1e-10, take the log, and move the maximum by -H^-1 g "
                      "(central differences) when 1 < x < w - 2 and 1 < y < h - 2")
        else:
            refine = ("move x by 0.25 * sign(H[y, x+1] - H[y, x-1]) when 1 < x < w - 1, and "
                      "y by 0.25 * sign(H[y+1, x] - H[y-1, x]) when 1 < y < h - 1")
        return (f"outputs: heatmaps (B, h, w, K), h x w = {size[1]} x {size[0]}. Per "
                "keypoint k: (x, y) = argmax of H = outputs[b, :, :, k], score = its value "
                f"(a maximum <= 0 gives (x, y) = (-1, -1)); {refine}; keypoint = (x, y) * "
                f"input_size / heatmap_size = (x, y) * {_to_jsonable(list(get('scale_factor')))}.")
    if name == "UDPHeatmap":
        (w, h), (in_w, in_h) = get("heatmap_size"), get("input_size")
        return (f"outputs: UDP heatmaps (B, h, w, K), h x w = {h} x {w} ({get('heatmap_type')}; "
                "'combined' has 3K channels: use the codec): argmax per channel (score = the "
                f"maximum), DARK-UDP refinement (blur kernel {get('blur_kernel_size')}), then "
                "keypoint = (x, y) * input_size / (heatmap_size - 1) = "
                f"[{in_w / (w - 1)}, {in_h / (h - 1)}].")
    if name == "MegviiHeatmap":
        return (f"outputs: heatmaps (B, h, w, K): blur each map ({get('kernel_size')}x"
                f"{get('kernel_size')} Gaussian), argmax (x, y), then add 0.5 + 0.25 * sign "
                "of the neighbour difference per axis when 1 < x < w - 1 and 1 < y < h - 1; "
                f"keypoint = (x, y) * {_to_jsonable(list(get('scale_factor')))}; score = "
                "maximum / 255 + 0.5.")
    if name == "SimCCLabel":
        ratio = get("simcc_split_ratio")
        dark = (f" Then DARK along each axis (blur kernel from sigma {list(get('sigma'))})."
                if get("use_dark") else "")
        return ("outputs: outputs_0 = simcc_x (B, K, Wx), outputs_1 = simcc_y (B, K, Wy), "
                f"Wx x Wy = {list(get('simcc_size'))}. Per keypoint: x = argmax(simcc_x) / "
                f"{ratio}, y = argmax(simcc_y) / {ratio} (simcc_split_ratio); score = "
                "min(max(simcc_x), max(simcc_y)); a score <= 0 gives (-1, -1)." + dark)
    if name == "RegressionLabel":
        w, h = get("input_size")
        return ("outputs: (B, K, 2) normalised (x, y), or (B, K, 4) (x, y, sigma_x, "
                f"sigma_y) for RLE: keypoint = (x * {w}, y * {h}) (input_size); score = 1 "
                "for (B, K, 2), mean(1 - sigma_x, 1 - sigma_y) for (B, K, 4).")
    if name == "IntegralRegressionLabel":
        w, h = get("input_size")
        return ("outputs: outputs_0 = (B, K, 2) normalised (x, y) (the soft-argmax), "
                "outputs_1 = the (B, h, w, K) heatmaps (not needed to decode): keypoint = "
                f"(x * {w}, y * {h}) (input_size); score = 1.")
    return (f"outputs: {name}'s raw outputs; decode with its batch_decode (no written "
            "rule for this codec).")


def _decode_notes(model: keras.Model, decode: str,
                  output_structure: Any = None) -> Dict[str, Any]:
    codec = model.codec
    visibility = callable(getattr(model.head, "split_outputs", None))
    if decode == "graph":
        notes = {"mode": "graph", "note": "keypoints are decoded in the graph"}
        if visibility:
            notes["keypoint_visibility"] = "(B, K) visibility probabilities (sigmoid applied)"
        return notes
    notes = {
        "mode": "none",
        "note": ("outputs are the raw head outputs after flip-test averaging (if "
                 "flip_test); decode them as `rule` says, or in Python with kpose: "
                 "keras.saving.deserialize_keras_object(metadata['codec']).batch_decode("
                 "kpose.apis.export.raw_outputs(outputs, metadata['decode']"
                 "['output_structure'])), to get keypoints in crop pixels; for the image "
                 "signature map them to image pixels with keypoints / input_size * scale "
                 "+ center - scale / 2, per box."),
        "codec_class": type(codec).__name__,
        "rule": _codec_decode_rule(codec),
        "output_structure": output_structure,
    }
    if visibility:
        notes["keypoint_visibility"] = ("(B, K) visibility probabilities (sigmoid "
                                        "applied), not part of `outputs`")
    return notes


def build_metadata(model: keras.Model, metainfo: Any = None, *, artifact_format: str,
                   quantize: str = "none", decode: str = "graph",
                   signatures: Optional[Dict[str, Any]] = None,
                   output_structure: Any = None, quantization: Optional[Dict[str, Any]] = None
                   ) -> Dict[str, Any]:
    """The metadata json of an artifact (a plain dict).

    Args:
        model: the exported estimator.
        metainfo: its `DatasetMeta` (keypoint names, skeleton, colours); None leaves
            those fields out.
        artifact_format: "saved_model", "tflite" or "keras".
        quantize: "none", "fp16" or "int8".
        decode: "graph" or "none".
        signatures: {name: {"inputs": {...}, "outputs": {...}}} descriptions.
        output_structure: with decode "none", the nesting of the raw outputs by name
            (e.g. `["outputs_0", "outputs_1"]` for SimCC's pair).
        quantization: details of the quantisation (e.g. which layers stay float).
    """
    meta: Dict[str, Any] = {
        "format": artifact_format,
        "quantize": quantize,
        "decode": _decode_notes(model, decode, output_structure),
        "kpose_version": _kpose_version(),
        "exported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "input_size": list(model.codec.input_size),
        "input": "uint8 RGB pixels, not normalised (normalisation is inside the model)",
        "normalisation": {"mean": list(model.mean), "std": list(model.std)},
        "flip_test": bool(model.flip_test),
        "codec": keras.saving.serialize_keras_object(model.codec),
        "bbox_padding": BBOX_PADDING,
        "signatures": signatures or {},
        "gin_config": gin.config_str(),
    }
    if quantization:
        meta["quantization"] = quantization
    try:
        meta["gin_operative_config"] = gin.operative_config_str()
    except Exception:  # noqa: BLE001 (gin not parsed)
        meta["gin_operative_config"] = ""
    if metainfo is not None:
        meta.update({
            "dataset_name": metainfo.name,
            "keypoint_names": list(metainfo.keypoint_names),
            "num_keypoints": len(metainfo.keypoint_names),
            "flip_indices": list(metainfo.flip_indices),
            "flip_pairs": [list(p) for p in metainfo.flip_pairs],
            "skeleton": [list(p) for p in metainfo.skeleton_links],
            "keypoint_colors": np.asarray(metainfo.keypoint_colors).tolist(),
            "skeleton_link_colors": np.asarray(metainfo.skeleton_link_colors).tolist(),
            "sigmas": np.asarray(metainfo.sigmas).tolist(),
        })
    return _to_jsonable(meta)


def metadata_path(artifact_path: str) -> str:
    """Where an artifact's metadata lives: `<artifact without extension>.json`."""
    path = os.fspath(artifact_path).rstrip("/")
    root, ext = os.path.splitext(path)
    return (root if ext in (".tflite", ".keras") else path) + ".json"


def _write_metadata(artifact_path: str, meta: Dict[str, Any]) -> str:
    path = metadata_path(artifact_path)
    with open(path, "w") as f:
        json.dump(meta, f, indent=2)
    return path


def _spec_dict(specs) -> Dict[str, Any]:
    return {name: {"shape": [d if d is not None else -1 for d in spec.shape.as_list()],
                   "dtype": spec.dtype.name} for name, spec in specs.items()}


def _signature_info(fn) -> Dict[str, Any]:
    args, kwargs = fn.structured_input_signature
    inputs = {spec.name: spec for spec in args}
    inputs.update(kwargs)
    return {"inputs": _spec_dict(inputs),
            "outputs": _spec_dict(fn.structured_outputs)}


def _built(model: keras.Model) -> None:
    if not model.built:
        w, h = model.codec.input_size
        model(tf.zeros((1, h, w, 3), tf.uint8))


def export_saved_model(model: keras.Model, path: str, metainfo: Any = None,
                       decode: str = "graph", signatures: Sequence[str] = ("crops", "image"),
                       write_metadata: bool = True) -> str:
    """Writes a SavedModel with the `crops` and `image` signatures.

    Args:
        model: a built top-down estimator.
        path: the SavedModel directory to write.
        metainfo: the dataset's `DatasetMeta` for the metadata json.
        decode: "graph" (keypoints out) or "none" (raw head outputs out).
        signatures: which of "crops" and "image" to include.
        write_metadata: write `<path>.json`.

    Returns:
        `path`.
    """
    _check_choice("decode", decode, DECODE)
    for name in signatures:
        _check_choice("signature", name, ("crops", "image"))
    _built(model)
    module = _PoseModule(model, decode)
    fns = {name: getattr(module, name).get_concrete_function() for name in signatures}
    tf.saved_model.save(module, path, signatures=fns)
    if write_metadata:
        info = {name: _signature_info(fn) for name, fn in fns.items()}
        _write_metadata(path, build_metadata(model, metainfo, artifact_format="saved_model",
                                             decode=decode, signatures=info,
                                             output_structure=module.output_structure))
    return path


def export_keras(model: keras.Model, path: str, metainfo: Any = None) -> str:
    """Saves the estimator as a `.keras` file (decode through `model.predict`)."""
    if not os.fspath(path).endswith(".keras"):
        raise ValueError(f"a .keras export path must end with '.keras', received {path!r}")
    _built(model)
    model.save(path)
    w, h = model.codec.input_size
    info = {"predict": {"inputs": {"images": {"shape": [-1, h, w, 3], "dtype": "uint8"}},
                        "outputs": {"keypoints": {"shape": [-1, -1, 2], "dtype": "float32"},
                                    "keypoint_scores": {"shape": [-1, -1],
                                                        "dtype": "float32"}}}}
    _write_metadata(path, build_metadata(model, metainfo, artifact_format="keras",
                                         signatures=info))
    return path


def _frozen_crops_saved_model(model: keras.Model, decode: str, path: str):
    """A SavedModel of the `crops` signature with the weights folded into constants.

    TF 2.21's converter keeps Keras 3 variables as READ_VARIABLE ops, which read NaN in
    the interpreter (no initialiser runs), whether it starts from a SavedModel or from a
    concrete function; freezing first gives a plain constant graph.

    Returns:
        `(path, output_structure)`, the latter as `_PoseModule.output_structure`.
    """
    from tensorflow.python.framework.convert_to_constants import \
        convert_variables_to_constants_v2

    module = _PoseModule(model, decode)
    fn = module.crops.get_concrete_function()
    frozen = convert_variables_to_constants_v2(fn)
    names = sorted(fn.structured_outputs)  # tf.nest flattens a dict in sorted-key order
    holder = tf.Module()
    holder.crops = tf.function(
        lambda crops: dict(zip(names, tf.nest.flatten(frozen(crops)))),
        input_signature=[fn.structured_input_signature[0][0]])
    # SiLU (CSPNeXt, the GAU) is a custom-gradient op whose captured `beta` cannot be
    # serialised once frozen; an inference artifact needs no gradients.
    tf.saved_model.save(holder, path, signatures={"crops": holder.crops.get_concrete_function()},
                        options=tf.saved_model.SaveOptions(experimental_custom_gradients=False))
    return path, module.output_structure


INT8_FLOAT = ("none", "decode", "head_output")


def _float_tail_nodes(calibrated: bytes, model_name: str, float_tail: str) -> list:
    """Output tensor names of the ops int8 conversion keeps in float.

    The estimator's ops carry its name scope (`<model name>[_n]/...`); every op that
    consumes, directly or not, a tensor the estimator outputs is the tail: flip-back,
    flip averaging and the decode. "head_output" adds the ops that produce those tensors
    (e.g. the heatmap head's `final_layer`, RTMCC's `cls_x` / `cls_y`).
    """
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=calibrated)
    tensors = {t["index"]: t["name"] for t in interpreter.get_tensor_details()}
    ops = interpreter._get_ops_details()  # noqa: SLF001 (no public graph API)
    scope = re.compile(rf"^{re.escape(model_name)}(_\d+)?/")
    in_model = [any(scope.match(part) for part in
                    tensors.get(o["outputs"][0], "").split(";")) if len(o["outputs"]) else False
                for o in ops]
    producer = {t: i for i, o in enumerate(ops) for t in o["outputs"]}
    tail, heads = set(), set()
    for i, op in enumerate(ops):  # ops are in execution (topological) order
        for t in op["inputs"]:
            j = producer.get(int(t))
            if j is None:
                continue
            if (in_model[j] and not in_model[i]) or j in tail:
                tail.add(i)
                if in_model[j] and not in_model[i]:
                    heads.add(j)
    if not any(in_model):
        logging.getLogger(__name__).warning(
            "int8: no op carries the model's name scope %r; nothing is kept float",
            model_name)
    chosen = tail | (heads if float_tail == "head_output" else set())
    return sorted({tensors[t] for i in chosen for t in ops[i]["outputs"]})


def _convert(converter, quantize: str, representative_crops, model_name: str = "",
             float_tail: str = "decode"):
    """Runs the converter; returns `(flatbuffer, quantisation details)`."""
    if quantize == "fp16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]

        def representative():
            for batch in representative_crops():
                for crop in np.asarray(batch, np.uint8):
                    yield {"crops": crop[None]}

        converter.representative_dataset = representative
        # int8 kernels wherever one exists; decode's float maths keep float builtins.
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
                                               tf.lite.OpsSet.TFLITE_BUILTINS]
        if float_tail != "none":
            # Calibrate, then quantise with the tail denylisted (what
            # tf.lite.experimental.QuantizationDebugger does for selective quantisation):
            # int8 keypoint coordinates and int8 neighbour differences cost 5 AP points.
            from tensorflow.lite.python import convert as lite_convert

            converter._experimental_calibrate_only = True  # noqa: SLF001
            calibrated = converter.convert()
            nodes = _float_tail_nodes(calibrated, model_name, float_tail)
            flatbuffer = lite_convert.mlir_quantize(calibrated, denylisted_nodes=nodes)
            return flatbuffer, {"scheme": "int8 weights (per-channel) and activations",
                                "float_tail": float_tail, "float_tensors": len(nodes)}
        return converter.convert(), {"scheme": "int8 weights (per-channel) and activations",
                                     "float_tail": "none"}
    return converter.convert(), None


def export_tflite(model: keras.Model, path: str, metainfo: Any = None, quantize: str = "none",
                  decode: str = "graph",
                  representative_crops: Optional[Callable[[], Iterable[np.ndarray]]] = None,
                  int8_float: str = "decode") -> str:
    """Converts the `crops` signature to a `.tflite` flatbuffer.

    TFLite has no builtin for the in-graph affine warp (`ImageProjectiveTransformV3`), so
    `.tflite` files hold the `crops` signature only; apps crop with the matrix the
    metadata describes (padding 1.25, aspect fixed, `get_warp_matrix`).

    Args:
        model: a built top-down estimator.
        path: the `.tflite` file to write.
        metainfo: the dataset's `DatasetMeta` for the metadata json.
        quantize: "none" (fp32), "fp16" (fp16 weights) or "int8" (post-training
            quantisation: int8 weights and activations, calibrated on
            `representative_crops`).
        decode: "graph" or "none".
        representative_crops: for int8, a callable returning an iterable of uint8 crop
            batches (B, h, w, 3), e.g. `calibration_crops(folder, input_size)`.
        int8_float: for int8, what stays float after the network: "decode" (default:
            flip-back, flip averaging and decode, i.e. everything after the estimator's
            outputs), "head_output" (also the layer that produces the outputs) or "none"
            (every op with an int8 kernel is int8, keypoint coordinates included).

    Returns:
        `path`.
    """
    _check_choice("quantize", quantize, QUANTIZE)
    _check_choice("decode", decode, DECODE)
    _check_choice("int8_float", int8_float, INT8_FLOAT)
    if not os.fspath(path).endswith(".tflite"):
        raise ValueError(f"a TFLite export path must end with '.tflite', received {path!r}")
    if quantize == "int8" and representative_crops is None:
        raise ValueError("quantize='int8' needs representative_crops (calibration images)")
    _built(model)
    with tempfile.TemporaryDirectory() as tmp:
        saved, structure = _frozen_crops_saved_model(model, decode, os.path.join(tmp, "frozen"))
        converter = tf.lite.TFLiteConverter.from_saved_model(saved, signature_keys=["crops"])
        flatbuffer, quantization = _convert(converter, quantize, representative_crops,
                                            model.name, int8_float)
    with open(path, "wb") as f:
        f.write(flatbuffer)
    from ai_edge_litert.interpreter import Interpreter
    runner = Interpreter(model_content=flatbuffer).get_signature_runner("crops")
    details = {"inputs": {k: {"shape": v["shape_signature"].tolist(),
                              "dtype": np.dtype(v["dtype"]).name}
                          for k, v in runner.get_input_details().items()},
               "outputs": {k: {"shape": v["shape_signature"].tolist(),
                               "dtype": np.dtype(v["dtype"]).name}
                           for k, v in runner.get_output_details().items()}}
    _write_metadata(path, build_metadata(model, metainfo, artifact_format="tflite",
                                         quantize=quantize, decode=decode,
                                         signatures={"crops": details},
                                         output_structure=structure,
                                         quantization=quantization))
    return path


def calibration_crops(image_dir: str, input_size: Sequence[int], max_images: int = 200,
                      batch_size: int = 16, ann_file: Optional[str] = None,
                      metainfo: Any = "coco") -> Callable[[], Iterable[np.ndarray]]:
    """Calibration crops for int8 from a folder of images, through the evaluation pipeline.

    With `ann_file` (COCO-format json of the folder's images), the person boxes of its
    annotations are cropped; otherwise each image is one whole-image box. Either way the
    crops go through `build_topdown_pipeline(train=False)`: GetBBoxCenterScale and
    TopdownAffine, exactly what evaluation feeds the model.

    Returns:
        A callable returning an iterable of uint8 (B, h, w, 3) batches (at most
        `max_images` crops).
    """
    from kpose.datasets import metainfo as metainfo_lib
    from kpose.datasets.pipeline import build_topdown_pipeline

    meta = metainfo_lib.load(metainfo)
    if ann_file:
        from kpose.datasets.coco_style_dataset import CocoStyleDataset
        data = CocoStyleDataset(ann_file=ann_file, data_prefix=image_dir, metainfo=meta,
                                test_mode=True)
        records = {k: np.asarray(v)[:max_images] for k, v in data.records.items()}
    else:
        records = _whole_image_records(image_dir, meta.num_keypoints, max_images)
    dataset = build_topdown_pipeline(records=records, meta=meta, codec=None,
                                     input_size=tuple(input_size), train=False,
                                     batch_size=batch_size)

    def batches():
        for images, _ in dataset.as_numpy_iterator():
            yield images

    return batches


IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")


def list_images(image_dir: str) -> list:
    """Sorted image files (jpg, jpeg, png, bmp) directly inside a folder."""
    if not os.path.isdir(image_dir):
        raise ValueError(f"calibration/image folder not found: {image_dir!r}")
    files = sorted(os.path.join(image_dir, f) for f in os.listdir(image_dir)
                   if f.lower().endswith(IMAGE_EXTENSIONS))
    if not files:
        raise ValueError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {image_dir!r}")
    return files


def _whole_image_records(image_dir: str, num_keypoints: int, max_images: int):
    import cv2

    files = list_images(image_dir)[:max_images]
    boxes, shapes = [], []
    for f in files:
        img = cv2.imread(f, cv2.IMREAD_UNCHANGED)
        if img is None:
            raise ValueError(f"cannot read image {f!r}")
        h, w = img.shape[:2]
        boxes.append([0.0, 0.0, float(w), float(h)])
        shapes.append([h, w])
    n = len(files)
    return {
        "img_path": np.asarray(files),
        "img_id": np.arange(n, dtype=np.int64),
        "id": -np.ones(n, np.int64),
        "img_shape": np.asarray(shapes, np.int32),
        "bbox": np.asarray(boxes, np.float32),
        "bbox_score": np.ones(n, np.float32),
        "keypoints": np.zeros((n, num_keypoints, 2), np.float32),
        "keypoints_visible": np.zeros((n, num_keypoints), np.float32),
        "area": np.zeros(n, np.float32),
        "category_id": np.ones(n, np.int64),
    }


ARTIFACT_NAMES = {"saved_model": "saved_model", "keras": "model.keras"}


def artifact_path(output_dir: str, artifact_format: str, quantize: str = "none",
                  decode: str = "graph") -> str:
    """The artifact's path inside an export folder (`saved_models/NAME`).

    `saved_model[_nodecode]/`, `model[_nodecode].keras`,
    `model_{fp32,fp16,int8}[_nodecode].tflite`.
    """
    _check_choice("format", artifact_format, FORMATS)
    suffix = "_nodecode" if decode == "none" else ""
    if artifact_format == "tflite":
        precision = {"none": "fp32", "fp16": "fp16", "int8": "int8"}[quantize]
        return os.path.join(output_dir, f"model_{precision}{suffix}.tflite")
    if artifact_format == "keras":
        return os.path.join(output_dir, f"model{suffix}.keras")
    return os.path.join(output_dir, f"saved_model{suffix}")


@gin.configurable(denylist=["output_dir", "artifact_format", "quantize", "decode",
                            "calibration_data", "calibration_ann_file", "checkpoint"])
def export(output_dir: str, artifact_format: str = "saved_model", quantize: str = "none",
           decode: str = "graph", calibration_data: Optional[str] = None,
           calibration_ann_file: Optional[str] = None, checkpoint: Optional[str] = None,
           model: Optional[Callable] = None, metainfo: Any = None,
           calibration_images: int = 200, int8_float: str = "decode") -> str:
    """The `export` root: builds the gin-bound estimator, loads weights, writes an artifact.

    Args:
        output_dir: export folder, e.g. `saved_models/NAME`.
        artifact_format: "saved_model", "tflite" or "keras".
        quantize: "none", "fp16" or "int8" (TFLite only).
        decode: "graph" or "none" (SavedModel / TFLite).
        calibration_data: image folder for int8 calibration.
        calibration_ann_file: optional COCO json of that folder's person boxes.
        checkpoint: `.weights.h5` to load.
        model: estimator factory; defaults to the one bound to `evaluate.model`.
        metainfo: dataset meta (name, path or `DatasetMeta`); defaults to the one bound to
            `metainfo_flip_indices.metainfo`, else "coco".
        calibration_images: at most this many calibration crops.
        int8_float: for int8, what stays float (`export_tflite`'s argument).

    Returns:
        The artifact's path (its metadata is `<artifact>.json` beside it).
    """
    from kpose.datasets import metainfo as metainfo_lib
    from kpose.engine.evaluate import load_checkpoint

    _check_choice("format", artifact_format, FORMATS)
    _check_choice("quantize", quantize, QUANTIZE)
    _check_choice("decode", decode, DECODE)
    _check_choice("int8_float", int8_float, INT8_FLOAT)
    if quantize != "none" and artifact_format != "tflite":
        raise ValueError(f"quantize={quantize!r} applies to --format tflite only, received "
                         f"format {artifact_format!r}")
    if decode == "none" and artifact_format == "keras":
        raise ValueError("decode='none' applies to saved_model and tflite; a .keras model "
                         "returns raw outputs from model(images) already")
    if quantize == "int8" and not calibration_data:
        raise ValueError("quantize='int8' needs calibration_data (a folder of images)")
    if model is None:
        try:
            model = gin.query_parameter("evaluate.model").scoped_configurable_fn
        except ValueError as err:
            raise ValueError("export needs a model: bind export.model or evaluate.model") from err
    if metainfo is None:
        try:
            metainfo = gin.query_parameter("metainfo_flip_indices.metainfo")
            if isinstance(metainfo, gin.config.ConfigurableReference):  # a %MACRO
                metainfo = metainfo.scoped_configurable_fn()
        except ValueError:
            metainfo = "coco"
    meta = metainfo_lib.load(metainfo)
    est = model()
    _built(est)
    if checkpoint:
        load_checkpoint(est, checkpoint)
    os.makedirs(output_dir, exist_ok=True)
    path = artifact_path(output_dir, artifact_format, quantize, decode)
    if artifact_format == "saved_model":
        return export_saved_model(est, path, meta, decode=decode)
    if artifact_format == "keras":
        return export_keras(est, path, meta)
    crops = None
    if quantize == "int8":
        crops = calibration_crops(calibration_data, est.codec.input_size,
                                  max_images=calibration_images, ann_file=calibration_ann_file,
                                  metainfo=meta)
    return export_tflite(est, path, meta, quantize=quantize, decode=decode,
                         representative_crops=crops, int8_float=int8_float)
