from rnnmnist.printing import numpy113_str


def test_float32_printed_as_numpy_before_1_14():
    # values as the final-state notebook printed them
    assert numpy113_str(89 / 128) == "0.695312"
    assert numpy113_str(117 / 128) == "0.914062"
    assert numpy113_str(127 / 128) == "0.992188"
    assert numpy113_str(31 / 32) == "0.96875"
    assert numpy113_str(1.0) == "1.0"
    assert numpy113_str(0.171875) == "0.171875"
