"""How a daily series is stored: from its first day with a row to its last, after a header; rows
stored before the header existed (366 values from 1 January) are still read as they were."""

from __future__ import annotations

import numpy as np

from intranet.fvt_tab import series
from intranet.fvt_tab.series import DAYS, NO_ROW, WITHHELD, decode, encode


def a_series(days: dict[int, int]) -> np.ndarray:
    values = series.empty()
    for day, value in days.items():
        values[day] = value
    return values


def test_a_bimestre_is_stored_alone_and_read_back_in_its_place():
    july_august = a_series({day: 100 + day for day in range(181, 243)} | {200: WITHHELD})
    data = encode(july_august)
    assert len(data) == 4 + 62 * 4
    assert decode(data).tolist() == july_august.tolist()


def test_every_length_reads_back_whole_year_365_days_one_day_and_big_values():
    cases = [a_series({d: d for d in range(DAYS)}),  # a leap year, every day
             a_series({d: 7 for d in range(365)}),  # 365 values: as long as a stored row without a header
             a_series({0: WITHHELD}), a_series({365: 3}),
             a_series({10: 3_000_000_000, 11: 5})]  # a value beyond int32
    for values in cases:
        assert decode(encode(values)).tolist() == values.tolist()


def test_rows_stored_without_a_header_are_read_as_they_were():
    for first in (NO_ROW, WITHHELD, 0, 12_345):
        values = a_series({0: first, 100: 8, 365: 9})
        assert decode(values.astype("<i4").tobytes()).tolist() == values.tolist()
    big = a_series({0: 4_000_000_000, 1: 2})  # its low 32 bits read as an int32 look like a header
    assert decode(big.astype("<i8").tobytes()).tolist() == big.tolist()
