"""The pipeline this project replaces, kept as the reference for tests and benchmarks.

It is OpenCV's own colorization sample as the seed used it: OpenCV 4's DNN module reads the Caffe
files (an importer OpenCV 5 removed), the L channel is resized to 224x224 with bilinear
interpolation, and the network's ab is resized back bilinearly and joined with the original L.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

INPUT_SIZE = 224


def has_caffe_importer() -> bool:
    return hasattr(getattr(cv2, "dnn", None), "readNetFromCaffe")


def load_seed_net(prototxt: Path, caffemodel: Path, hull: Path, scale_from_filler: bool = True):
    """OpenCV's Caffe net with the bin centres and the 2.606 scale set as the seed set them."""
    net = cv2.dnn.readNetFromCaffe(str(prototxt), str(caffemodel))
    net.getLayer(net.getLayerId("class8_ab")).blobs = [np.load(hull).T.reshape(2, 313, 1, 1).astype(np.float32)]
    if scale_from_filler:
        net.getLayer(net.getLayerId("conv8_313_rh")).blobs = [np.full((1, 313), 2.606, np.float32)]
    return net


def seed_colorize(net, rgb: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 RGB -> uint8 HxWx3 RGB, exactly as the seed computed it."""
    height, width = rgb.shape[:2]
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    lightness = lab[:, :, 0]
    net.setInput(cv2.dnn.blobFromImage(cv2.resize(lightness, (INPUT_SIZE, INPUT_SIZE)) - 50))
    ab = net.forward()[0].transpose(1, 2, 0)  # 2xhxw -> hxwx2
    ab_full = cv2.resize(ab, (width, height))  # cv2 sizes are (width, height)
    out = cv2.cvtColor(np.concatenate([lightness[:, :, None], ab_full], axis=2), cv2.COLOR_Lab2RGB)
    return (np.clip(out, 0, 1) * 255).astype(np.uint8)
