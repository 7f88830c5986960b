from factors.catalog.exposure import DAY_MS, measure
from factors.model import ExposureMeasurement

T = 1_795_000_000_000


def test_no_measurement_scores_nothing():
    assert measure(None, T)[0] == 0.0


def test_recent_measurement_is_its_exposure():
    value, evidence = measure(ExposureMeasurement(T - DAY_MS, 1_234_500, 2), T)
    assert value == 12_345.0 and evidence["counterparties"] == 2 and evidence["measured_days_ago"] == 1.0


def test_a_measurement_older_than_the_window_expires():
    assert measure(ExposureMeasurement(T - 91 * DAY_MS, 1_234_500, 2), T)[0] == 0.0
    assert measure(ExposureMeasurement(T - 89 * DAY_MS, 1_234_500, 2), T)[0] == 12_345.0
