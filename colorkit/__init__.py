"""Rules shared by ``convert``, ``colorizer``, ``app.py`` and ``bench``, each in one place.

Standard library only, so the converter, the colorizer and the tests can all import it without
pulling in onnxruntime or OpenCV:

- ``contract``: where the ONNX model lives, what its files are called, the metadata it carries.
- ``files``: atomic writes, hashing, the image file suffixes we read.
- ``cli``: the help formatter and logging setup of every command-line tool.
"""
