import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from flows.extract.dates import SHANGHAI, parse_date


def test_common_forms():
    ref = dt.date(2025, 8, 1)
    cases = {
        "2025年07月06日 08:35": (2025, 7, 6, 8, 35, 0),
        "发表于:2025-07-06 08:35:57 来源:人民日报": (2025, 7, 6, 8, 35, 57),
        "2025-7-6 8:05": (2025, 7, 6, 8, 5, 0),
        "2024.11.08": (2024, 11, 8, 0, 0, 0),
        "2019/08/13 10:00": (2019, 8, 13, 10, 0, 0),
        "时间：2019年8月13日": (2019, 8, 13, 0, 0, 0),
        "07-06 12:01": (2025, 7, 6, 12, 1, 0),
        "孙杰2025-02-12 13:04": (2025, 2, 12, 13, 4, 0),
        "２０２５－０２－１２": (2025, 2, 12, 0, 0, 0),       # full-width digits
    }
    for text, parts in cases.items():
        assert parse_date(text, reference=ref) == dt.datetime(*parts, tzinfo=SHANGHAI), text


def test_no_date_is_none_never_now():
    assert parse_date("没有日期的页面") is None
    assert parse_date("") is None
    assert parse_date("2025-13-45") is None
    assert parse_date("07-06") is None            # year-less needs a reference


def test_yearless_takes_latest_year_not_after_reference():
    assert parse_date("12-30", reference=dt.date(2025, 1, 2)).year == 2024


@given(st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2099, 12, 31)),
       st.sampled_from(["{y}-{m:02d}-{d:02d} {H:02d}:{M:02d}:{S:02d}", "{y}年{m}月{d}日 {H}:{M:02d}",
                        "{y}/{m}/{d} {H:02d}:{M:02d}", "{y}.{m:02d}.{d:02d}", "{y}年{m:02d}月{d:02d}日"]),
       st.sampled_from(["", "发布时间：", "来源：新华社 ", "  "]))
def test_roundtrip_every_form(when, form, prefix):
    text = prefix + form.format(y=when.year, m=when.month, d=when.day, H=when.hour, M=when.minute, S=when.second)
    got = parse_date(text)
    assert got is not None and got.tzinfo is SHANGHAI
    assert got.date() == when.date()
    if "{H" in form:
        assert (got.hour, got.minute) == (when.hour, when.minute)


@given(st.dates(min_value=dt.date(1990, 3, 1), max_value=dt.date(2099, 12, 31)),
       st.integers(0, 300), st.integers(0, 23), st.integers(0, 59), st.booleans(),
       st.sampled_from(["{m:02d}-{d:02d}", "{m}-{d}", "{m}月{d}日", "{m:02d}/{d:02d}"]))
def test_yearless_forms_take_the_year_from_the_reference(day, back, hour, minute, with_time, form):
    reference = day + dt.timedelta(days=back)
    text = form.format(m=day.month, d=day.day) + (f" {hour:02d}:{minute:02d}" if with_time else "")
    got = parse_date(text, reference=reference)
    assert got is not None
    if back < 365 and not (day.month == 2 and day.day == 29):
        assert got.date() == day
    assert got.date() <= reference
    if with_time:
        assert (got.hour, got.minute) == (hour, minute)


@given(st.text(alphabet="0123456789-/:年月日 时分", max_size=30))
def test_never_crashes_and_never_invents(text):
    got = parse_date(text)
    assert got is None or 1900 <= got.year <= 2099
