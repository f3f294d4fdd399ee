"""GCJ-02 (the datum of Chinese map apps: 高德, 腾讯, and Baidu before its own BD-09) to and from WGS-84.

Pure: no I/O. GCJ-02 is WGS-84 shifted by an obfuscating offset of a few hundred metres in China
(about 500 m in Shanghai) and none outside it. The forward function (WGS-84 → GCJ-02) is the one
published since 2006 and used by every open implementation (Krasovsky ellipsoid constants, the
mainland as a bounding box); it has no closed inverse, so GCJ-02 → WGS-84 is found by iterating the
forward function until it lands on the given point (well under a millimetre, in a few steps).

No package on PyPI doing this looked well kept (single-author, unmaintained for years, or a compiled
wheel for a forty-line formula), so it is written here and tested against the published reference
points (tests/unit/kernel/test_datum.py).
"""

from __future__ import annotations

import math

WGS84 = "WGS-84"
GCJ02 = "GCJ-02"
DATUMS = (WGS84, GCJ02)

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as the published formula has it
_EE = 0.00669342162296594323  # its first eccentricity squared
_TOLERANCE_DEG = 1e-10  # ≈ 0.01 mm: where the inverse stops
_MAX_STEPS = 30


def out_of_china(lat: float, long: float) -> bool:
    """Outside the box GCJ-02 shifts (there the two datums are the same)."""
    return not (72.004 <= long <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _shift_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _shift_long(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _offset(lat: float, long: float) -> tuple[float, float]:
    """GCJ-02 minus WGS-84 at a WGS-84 point, in degrees (lat, long)."""
    d_lat = _shift_lat(long - 105.0, lat - 35.0)
    d_long = _shift_long(long - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    root = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * root) * math.pi)
    d_long = (d_long * 180.0) / (_A / root * math.cos(rad) * math.pi)
    return d_lat, d_long


def wgs84_to_gcj02(lat: float, long: float) -> tuple[float, float]:
    """A WGS-84 point as a Chinese map app shows it (unchanged outside China)."""
    if out_of_china(lat, long):
        return lat, long
    d_lat, d_long = _offset(lat, long)
    return lat + d_lat, long + d_long


def gcj02_to_wgs84(lat: float, long: float) -> tuple[float, float]:
    """The WGS-84 point a GCJ-02 point stands for (unchanged outside China): the forward function
    inverted by fixed-point iteration, to within `_TOLERANCE_DEG`."""
    if out_of_china(lat, long):
        return lat, long
    w_lat, w_long = lat, long
    for _ in range(_MAX_STEPS):
        g_lat, g_long = wgs84_to_gcj02(w_lat, w_long)
        e_lat, e_long = g_lat - lat, g_long - long
        if abs(e_lat) < _TOLERANCE_DEG and abs(e_long) < _TOLERANCE_DEG:
            break
        w_lat, w_long = w_lat - e_lat, w_long - e_long
    return w_lat, w_long


def to_wgs84(lat: float, long: float, datum: str) -> tuple[float, float]:
    """A point in `datum` (one of DATUMS) as WGS-84; ValueError for another datum."""
    if datum == WGS84:
        return lat, long
    if datum == GCJ02:
        return gcj02_to_wgs84(lat, long)
    raise ValueError(f"unknown datum {datum!r}: {' or '.join(DATUMS)}")
