"""convert/caffe_schema.py reads the schema file, caffe_subset.proto, as Caffe declares it."""

import pytest

from convert import caffe_schema


def test_the_schema_file_gives_caffes_field_numbers_defaults_and_packing():
    fields = {field[2]: field for field in caffe_schema.MESSAGES["ConvolutionParameter"]}
    assert fields["num_output"] == ("optional", "uint32", "num_output", 1, None)
    assert fields["bias_term"] == ("optional", "bool", "bias_term", 2, "true")
    assert fields["dilation"] == ("repeated", "uint32", "dilation", 18, None)
    assert caffe_schema.MESSAGES["BlobShape"] == [("packed", "int64", "dim", 1, None)]
    filler = {field[2]: field[4] for field in caffe_schema.MESSAGES["FillerParameter"]}
    assert filler["type"] == "constant"  # a quoted string default, unquoted
    assert caffe_schema.ENUMS["EltwiseOp"] == ["PROD", "SUM", "MAX"]
    # The message classes carry it: a default and a packed encoding as Caffe writes them.
    assert caffe_schema.BlobProto().shape.dim == []
    assert caffe_schema.LayerParameter().convolution_param.bias_term is True
    shape = caffe_schema.BlobShape(dim=[1, 2])
    assert shape.SerializeToString() == b"\x0a\x02\x01\x02"  # field 1, length-delimited: packed


@pytest.mark.parametrize(
    "text, problem",
    [
        ("message A {\n  optional int32 x = 1 [defualt = 2];\n}", "cannot read"),
        ("message A {\n  required int32 x = 1;\n}", "cannot read"),
        ("enum E { A = 0; B = 2; }", "numbered 0, 1, 2"),
    ],
)
def test_a_line_the_reader_does_not_know_is_refused_not_skipped(text, problem):
    with pytest.raises(ValueError, match=problem):
        caffe_schema.read_schema(text)
