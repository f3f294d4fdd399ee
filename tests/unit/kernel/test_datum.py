"""GCJ-02 ↔ WGS-84 (kernel/datum.py) against the published reference points, and the directory's
locations given in GCJ-02."""

from __future__ import annotations

import math

import pytest

from kernel.datum import gcj02_to_wgs84, out_of_china, to_wgs84, wgs84_to_gcj02
from kernel.directory import Location


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine on a sphere of the mean Earth radius: plenty for metres."""
    lat1, long1, lat2, long2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((long2 - long1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


# The reference points every open implementation tests against (eviltransform's fixtures):
# (WGS-84 lat, long), (GCJ-02 lat, long).
POINTS = {
    "shanghai": ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),
    "shenzhen": ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),
    "beijing": ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),
}


@pytest.mark.parametrize("city", POINTS)
def test_wgs84_to_gcj02_gives_the_published_points(city: str) -> None:
    wgs, gcj = POINTS[city]
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-9)


@pytest.mark.parametrize("city", POINTS)
def test_gcj02_to_wgs84_lands_within_a_millimetre(city: str) -> None:
    wgs, gcj = POINTS[city]
    assert distance_m(gcj02_to_wgs84(*gcj), wgs) < 0.001
    assert distance_m(gcj, wgs) > 100  # the offset is real: a few hundred metres


def test_round_trips_over_shanghai_stay_under_a_metre() -> None:
    worst = 0.0
    for i in range(21):
        for j in range(21):
            wgs = (30.7 + i * 0.05, 121.0 + j * 0.05)
            worst = max(worst, distance_m(gcj02_to_wgs84(*wgs84_to_gcj02(*wgs)), wgs))
            gcj = wgs
            worst = max(worst, distance_m(wgs84_to_gcj02(*gcj02_to_wgs84(*gcj)), gcj))
    assert worst < 0.01  # well under the 1 m asked for


def test_outside_china_nothing_moves() -> None:
    assert out_of_china(35.68, 139.76) and not out_of_china(31.23, 121.47)
    assert wgs84_to_gcj02(35.68, 139.76) == (35.68, 139.76)  # Tokyo
    assert gcj02_to_wgs84(48.85, 2.35) == (48.85, 2.35)  # Paris


def test_to_wgs84() -> None:
    wgs, gcj = POINTS["shanghai"]
    assert to_wgs84(*wgs, "WGS-84") == wgs
    assert distance_m(to_wgs84(*gcj, "GCJ-02"), wgs) < 0.001
    with pytest.raises(ValueError, match="unknown datum 'BD-09'"):
        to_wgs84(*wgs, "BD-09")


def test_a_location_given_in_gcj02_is_kept_in_wgs84() -> None:
    wgs, gcj = POINTS["shanghai"]
    location = Location.model_validate({"lat": gcj[0], "long": gcj[1], "datum": "GCJ-02"})
    assert distance_m((location.lat, location.long), wgs) < 0.001
    assert location.datum == "WGS-84"
    assert set(location.model_dump()) == {"lat", "long"}  # served and stored as WGS-84, no datum
    again = Location.model_validate(location.model_dump())
    assert (again.lat, again.long) == (location.lat, location.long)  # read back: not converted twice
    assert Location.model_validate({"lat": 31.2, "long": 121.4}).model_dump() == {"lat": 31.2, "long": 121.4}
    with pytest.raises(ValueError, match="WGS-84"):
        Location.model_validate({"lat": 31.2, "long": 121.4, "datum": "BD-09"})
