import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transport.model import TravelParams
from transport.travel import CrowFlyModel, TravelModel, great_circle_miles

CANTERBURY = (51.2800, 1.0800)
ASHFORD = (51.1470, 0.8700)


def test_known_distance_canterbury_ashford():
    # about 12.6 miles as the crow flies
    miles = great_circle_miles(np.array([CANTERBURY]), np.array([ASHFORD]))[0, 0]
    assert 12.0 < miles < 13.2


def test_contract_defaults_circuity_and_speed():
    model = CrowFlyModel()
    m = model.travel_matrix(np.array([CANTERBURY]), np.array([ASHFORD]))
    crow = great_circle_miles(np.array([CANTERBURY]), np.array([ASHFORD]))[0, 0]
    assert m.miles[0, 0] == pytest.approx(crow * 1.3)
    assert m.minutes[0, 0] == pytest.approx(crow * 1.3 / 25 * 60)
    assert model.dwell_min == 2.0


def test_parameters_change_the_model():
    model = CrowFlyModel(TravelParams(circuity=1.5, speed_mph=30, dwell_min=3))
    m = model.travel_matrix(np.array([CANTERBURY]), np.array([ASHFORD]))
    crow = great_circle_miles(np.array([CANTERBURY]), np.array([ASHFORD]))[0, 0]
    assert m.minutes[0, 0] == pytest.approx(crow * 1.5 / 30 * 60)
    assert model.describe() == {
        "backend": "crow-fly",
        "circuity": 1.5,
        "speed_mph": 30,
        "dwell_min": 3,
    }


def test_model_satisfies_protocol():
    assert isinstance(CrowFlyModel(), TravelModel)


@pytest.mark.parametrize("bad", [{"circuity": 0.5}, {"speed_mph": 0}, {"dwell_min": -1}])
def test_impossible_parameters_rejected(bad):
    with pytest.raises(ValueError):
        TravelParams(**bad)


points = st.tuples(st.floats(50.8, 51.6), st.floats(0.0, 1.5))


@given(st.lists(points, min_size=1, max_size=6), st.lists(points, min_size=1, max_size=6))
def test_matrix_shape_symmetry_and_triangle(origins, destinations):
    o, d = np.array(origins), np.array(destinations)
    m = CrowFlyModel().travel_matrix(o, d)
    assert m.miles.shape == (len(o), len(d))
    assert np.all(m.miles >= 0)
    back = CrowFlyModel().travel_matrix(d, o)
    assert np.allclose(m.miles, back.miles.T)
    # triangle inequality through the first destination
    via = CrowFlyModel().travel_matrix(d[:1], d).miles[0]
    assert np.all(m.miles <= m.miles[:, :1] + via[None, :] + 1e-9)
