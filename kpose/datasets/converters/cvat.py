"""CVAT for images 1.1 XML (skeletons / points, boxes) -> COCO keypoints json."""

from __future__ import annotations

import logging
import os
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np

from kpose.datasets import metainfo as metainfo_lib
from kpose.datasets.converters._coco import annotation, category, write_json
from kpose.datasets.metainfo.dataset_meta import DatasetMeta

logger = logging.getLogger(__name__)


def cvat_to_coco(xml_file: str, metainfo: "str | DatasetMeta" = "coco", label: str = "person",
                 out_file: "str | None" = None) -> dict[str, Any]:
    """Converts a "CVAT for images 1.1" export with keypoint annotations to COCO keypoints.

    Each ``<image id name width height>`` becomes a COCO image (same id, ``file_name`` =
    ``name``). People are read from shapes whose ``label`` is ``label``:

    - ``<skeleton>`` with one ``<points label="<keypoint name>" points="x,y">`` child per
      keypoint (CVAT 2.x skeletons): names are looked up in the metainfo's keypoint names;
      ``outside="1"`` -> not labelled (v=0), ``occluded="1"`` -> v=1, otherwise v=2.
    - ``<points points="x1,y1;x2,y2;...">`` (a multi-point shape): exactly K points in the
      metainfo's keypoint order, v=2 (v=1 if the shape is ``occluded``).

    Each person's box is the ``<box>`` of the same label in the image with the same
    ``group_id``, else the unused box that contains most of its labelled keypoints
    (smallest on ties), else the tight box of its labelled keypoints. ``area`` is 0.53 x
    the box area (COCO's rule without segmentation), coordinates are rounded to 0.001 px,
    annotation ids count from 1 in document order.

    Args:
        xml_file: the export's ``annotations.xml``.
        metainfo: the keypoint layout (built-in name, file or ``DatasetMeta``).
        label: the CVAT label of the people (skeleton / points / box label).
        out_file: also write the json there.

    Returns:
        The COCO dict (``images``, ``annotations``, ``categories``).

    Raises:
        FileNotFoundError: ``xml_file`` is missing.
        ValueError: unparseable XML, a CVAT video export (tracks), an image without
            ``width``/``height``, a keypoint name the metainfo lacks, a points shape with
            the wrong number of points, or unparseable coordinates; messages name the file,
            the image and the shape.
    """
    meta = metainfo_lib.load(metainfo)
    if not os.path.isfile(xml_file):
        raise FileNotFoundError(f"CVAT xml {xml_file} does not exist")
    try:
        root = ET.parse(xml_file).getroot()
    except ET.ParseError as err:
        raise ValueError(f"{xml_file}: not valid XML ({err})") from err
    if root.find("image") is None and root.find("track") is not None:
        raise ValueError(f"{xml_file}: holds <track> elements (a 'CVAT for video' export); export the task "
                         "as 'CVAT for images 1.1'")
    index = {name: i for i, name in enumerate(meta.keypoint_names)}
    k = meta.num_keypoints
    images, annotations = [], []
    for image in root.iter("image"):
        where = f"{xml_file}: <image id={image.get('id')!r} name={image.get('name')!r}>"
        try:
            image_id, width, height = int(image.get("id")), int(image.get("width")), int(image.get("height"))
        except (TypeError, ValueError):
            raise ValueError(f"{where} needs integer id, width and height attributes") from None
        if not image.get("name"):
            raise ValueError(f"{where} has no name")
        images.append({"id": image_id, "file_name": image.get("name"), "width": width, "height": height})
        people = []  # (keypoints (K, 3), group_id)
        for n, shape in enumerate(image):
            if shape.get("label") != label:
                continue
            if shape.tag == "skeleton":
                kpts = np.zeros((k, 3))
                for point in shape.findall("points"):
                    name = point.get("label")
                    if name not in index:
                        raise ValueError(f"{where}: skeleton #{n} has keypoint {name!r}, which metainfo "
                                         f"{meta.name!r} does not name (known: {list(meta.keypoint_names)})")
                    if point.get("outside", "0") == "1":
                        continue
                    xy = _parse_points(point.get("points"), f"{where}: keypoint {name!r} of skeleton #{n}")
                    if len(xy) != 1:
                        raise ValueError(f"{where}: keypoint {name!r} of skeleton #{n} has {len(xy)} points, "
                                         "expected 1")
                    kpts[index[name]] = [xy[0][0], xy[0][1], 1 if point.get("occluded", "0") == "1" else 2]
                people.append((kpts, shape.get("group_id")))
            elif shape.tag == "points":
                if shape.get("outside", "0") == "1":
                    continue
                xy = _parse_points(shape.get("points"), f"{where}: points shape #{n}")
                if len(xy) != k:
                    raise ValueError(f"{where}: points shape #{n} has {len(xy)} points, but metainfo "
                                     f"{meta.name!r} has {k} keypoints (in its order)")
                v = 1 if shape.get("occluded", "0") == "1" else 2
                people.append((np.concatenate([np.asarray(xy), np.full((k, 1), v)], axis=1),
                               shape.get("group_id")))
        boxes = [(np.array([float(b.get(a)) for a in ("xtl", "ytl", "xbr", "ybr")]), b.get("group_id"))
                 for b in image.findall("box") if b.get("label") == label and b.get("outside", "0") != "1"]
        used: set[int] = set()
        for kpts, group in people:
            box = _match_box(kpts, group, boxes, used)
            annotations.append(annotation(len(annotations) + 1, image_id, kpts, box))
    coco = {"images": images, "annotations": annotations, "categories": [category(meta, label)]}
    logger.info("%s: %d images, %d people", xml_file, len(images), len(annotations))
    if out_file:
        write_json(coco, out_file)
    return coco


def _parse_points(text: "str | None", where: str) -> list[tuple[float, float]]:
    try:
        pairs = [p.split(",") for p in (text or "").strip().split(";") if p.strip()]
        out = [(float(x), float(y)) for x, y in pairs]
    except ValueError:
        raise ValueError(f"{where}: cannot parse points {text!r} (expected 'x1,y1;x2,y2;...')") from None
    if not out or not np.isfinite(np.asarray(out)).all():
        raise ValueError(f"{where}: cannot parse points {text!r} (expected finite 'x1,y1;x2,y2;...')")
    return out


def _match_box(kpts: np.ndarray, group: "str | None", boxes: list, used: set) -> "np.ndarray | None":
    if group is not None:
        for i, (box, box_group) in enumerate(boxes):
            if box_group == group and i not in used:
                used.add(i)
                return box
    labelled = kpts[kpts[:, 2] > 0, :2]
    best, best_key = None, None
    for i, (box, _) in enumerate(boxes):
        if i in used:
            continue
        inside = int(np.sum((labelled[:, 0] >= box[0]) & (labelled[:, 0] <= box[2]) &
                            (labelled[:, 1] >= box[1]) & (labelled[:, 1] <= box[3])))
        key = (inside, -(box[2] - box[0]) * (box[3] - box[1]))
        if inside and (best_key is None or key > best_key):
            best, best_key = i, key
    if best is None:
        return None
    used.add(best)
    return boxes[best][0]
