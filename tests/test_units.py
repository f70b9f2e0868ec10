import numpy as np

from transport.units import from_pence, from_seconds, to_centimiles, to_pence, to_seconds


def test_conversions_round_to_nearest_integer():
    assert to_seconds(1.5).item() == 90
    assert from_seconds(90).item() == 1.5
    assert to_pence(12.34).item() == 1234
    assert to_pence(0.006).item() == 1
    assert from_pence(1999).item() == 19.99
    assert to_centimiles(np.array([1.234, 2.0])).tolist() == [123, 200]
    assert to_seconds(np.array([0.0, 2.0])).dtype == np.int64
