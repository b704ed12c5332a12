"""Caffe -> ONNX conversion of the ECCV16 "Colorful Image Colorization" release.

``python -m convert --help`` for the command line; ``convert.eccv16.convert_release`` from Python.
"""

__version__ = "1.0.0"
