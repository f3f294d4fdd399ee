"""Fictitious but valid 统一社会信用代码 for the tests."""

from __future__ import annotations

import random

from stdnum.cn.uscc import calc_check_digit

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_rng = random.SystemRandom()


def new_uscc() -> str:
    body = "91310107" + "".join(_rng.choice(ALPHABET) for _ in range(9))
    return body + calc_check_digit(body)
