"""How scoring writes things for people (scoring.wording): the one place the pages, the report, the
exports and the API take the withheld reason, the language and their numbers from."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.template.defaultfilters import floatformat
from django.utils import translation

from scoring import wording
from scoring.disclosure import PROTECTS, TOO_FEW


@pytest.mark.parametrize("code, language", [
    ("en", "en"), ("en-gb", "en"), ("EN-US", "en"), ("vi", "vi"), ("vi-vn", "vi"), ("fr", "vi"), ("", "vi"),
])
def test_english_and_its_variants_read_as_english_anything_else_as_vietnamese(code, language):
    assert wording.language_of(code) == language


def test_without_a_code_the_active_language_is_taken():
    with translation.override("en-gb"):
        assert wording.language_of() == "en"
    with translation.override("vi"):
        assert wording.language_of() == "vi"


@pytest.mark.parametrize("value, decimals, expected", [
    (0.05, 1, "0.1"), (0.15, 1, "0.2"), (0.25, 1, "0.3"), (86.45, 1, "86.5"), (99.95, 1, "100.0"),
    (0.04999, 1, "0.0"), (-0.05, 1, "-0.1"), (2.675, 2, "2.68"), (1.005, 2, "1.01"), (3.125, 2, "3.13"),
    (12.5, 0, "13"),
])
def test_rounding_is_half_up_on_the_digits_the_float_prints(value, decimals, expected):
    # 0.15, 2.675 and 1.005 are stored a hair below the half: rounding the binary value would go down.
    assert wording.rounded(value, decimals) == Decimal(expected)


def test_numbers_are_written_with_the_languages_decimal_separator_and_grouping():
    with translation.override("en"):
        assert [wording.number(86.45), wording.number(3.125, 2), wording.number(1234567.25)] == [
            "86.5", "3.13", "1,234,567.3"]
    with translation.override("vi"):
        assert [wording.number(86.45), wording.number(3.125, 2), wording.number(1234567.25)] == [
            "86,5", "3,13", "1.234.567,3"]
        assert (wording.number(0.05, 2), wording.count(1930)) == ("0,05", "1.930")


def test_a_number_that_rounds_to_zero_has_no_minus_and_none_is_blank():
    assert (wording.number(-0.04), wording.number(-0.004, 2), wording.number(None)) == ("0.0", "0.00", "")


@pytest.mark.parametrize("language", ["en", "vi"])
def test_numbers_read_as_the_templates_floatformat_wrote_them(language):
    values = [0.05, 0.15, 2.675, 49.95, 86.45, 99.96, 100.0, 0.0, 1 / 3, 66.65]
    with translation.override(language):
        for decimals in (0, 1, 2):
            assert [wording.number(v, decimals) for v in values] == [str(floatformat(v, decimals)) for v in values]


def test_the_template_filter_writes_the_same_numbers():
    template = Template("{% load scoring_wording %}{{ a|number }} {{ b|number:2 }} [{{ c|number }}]")
    with translation.override("vi"):
        assert template.render(Context({"a": 86.45, "b": 3.125, "c": None})) == "86,5 3,13 []"


def test_a_change_takes_its_sign_from_the_written_figure():
    with translation.override("en"):
        assert [wording.signed(v, 2) for v in (3.125, -5, -0.004, 0.005, None)] == [
            "+3.13", "−5.00", "±0.00", "+0.01", ""]
        assert [wording.signed(v) for v in (-0.04, -0.05, 1.25)] == ["±0.0", "−0.1", "+1.3"]
    with translation.override("vi"):
        assert wording.signed(-3.125, 2) == "−3,13"


def test_too_few_responses_reads_the_same_wherever_it_is_shown_in_english():
    with translation.override("en"):
        assert wording.withheld_reason(28, 30, TOO_FEW) == "28 responses, fewer than the 30 needed"
        assert wording.withheld_reason(1, 30, TOO_FEW) == "1 response, fewer than the 30 needed"
        assert wording.withheld_sentence(28, 30, TOO_FEW) == (
            "Only 28 valid responses: at least 30 are needed before figures are shown.")
        assert wording.withheld_sentence(1, 30, TOO_FEW) == (
            "Only 1 valid response: at least 30 are needed before figures are shown.")


def test_a_unit_withheld_to_protect_another_says_so_in_english():
    with translation.override("en"):
        assert wording.withheld_reason(35, 30, PROTECTS) == (
            "35 responses, withheld so that a unit with too few cannot be worked out")
        assert wording.withheld_sentence(35, 30, PROTECTS) == (
            "35 valid responses: figures withheld so that those of a unit with too few responses cannot be "
            "worked out from them.")


def test_every_withheld_reason_reads_in_vietnamese():
    with translation.override("vi"):
        assert wording.withheld_reason(28, 30, TOO_FEW) == "28 phiếu, chưa đủ 30 phiếu tối thiểu"
        assert wording.withheld_sentence(28, 30, TOO_FEW) == (
            "Chỉ có 28 phiếu hợp lệ: cần ít nhất 30 phiếu mới hiển thị số liệu.")
        assert wording.withheld_reason(35, 30, PROTECTS) == (
            "35 phiếu, không công bố để không thể suy ra đơn vị có quá ít phiếu")
        assert wording.withheld_sentence(35, 30, PROTECTS) == (
            "35 phiếu hợp lệ: không công bố số liệu để không thể suy ra số liệu của một đơn vị có quá ít phiếu.")
        assert (wording.no_responses(), wording.not_computed()) == (
            "chưa có phiếu", "Chưa tính kết quả cho đơn vị này trong đợt khảo sát này.")


def test_any_stored_reason_other_than_protecting_reads_as_too_few():
    # UnitScore.withheld is "" for a shown unit: a caller asking anyway gets the count's wording.
    with translation.override("en"):
        assert wording.withheld_reason(5, 30, "") == wording.withheld_reason(5, 30, TOO_FEW)


def test_a_change_is_worded_in_points_and_places_with_the_figures_one_decimal():
    cases = {(3.13, -5): "+3.1 points, down 5 places", (-1.0, 1): "−1.0 point, up 1 place",
             (0.96, None): "+1.0 point", (0.0, 0): "±0.0 points, same place", (2.5, None): "+2.5 points",
             (None, None): "", (2.345, 0): "+2.3 points, same place", (2.35, 2): "+2.4 points, up 2 places",
             (-0.04, None): "±0.0 points", (None, -1): "down 1 place"}
    with translation.override("en"):
        for (points, places), text in cases.items():
            assert wording.change(points, places) == text, (points, places)


def test_a_change_reads_in_vietnamese_with_its_decimal_comma():
    with translation.override("vi"):
        assert wording.change(5.11, -2) == "+5,1 điểm, giảm 2 bậc"
        assert wording.change(-0.25, 3) == "−0,3 điểm, tăng 3 bậc"
        assert wording.places(0) == "giữ nguyên thứ hạng"


def test_ranks_are_ordinals_in_english_and_hang_in_vietnamese():
    with translation.override("en"):
        assert [wording.rank(r, 12) for r in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23)] == [
            "1st of 12", "2nd of 12", "3rd of 12", "4th of 12", "11th of 12", "12th of 12", "13th of 12",
            "21st of 12", "22nd of 12", "23rd of 12"]
        assert (wording.rank(None, None), wording.rank_short(None, None)) == ("", "")
    with translation.override("vi"):
        assert (wording.rank(3, 12), wording.rank_short(3, 12)) == ("hạng 3/12", "3/12")


def test_the_workbook_shows_as_many_decimals_as_the_pages():
    assert wording.spreadsheet_format() == "0." + "0" * wording.DECIMALS
    assert (wording.spreadsheet_format(0), wording.spreadsheet_format(2)) == ("0", "0.00")


def test_a_questionnaire_text_falls_back_to_its_vietnamese():
    text = {"vi": "Nơi ngồi chờ", "en": "Waiting area"}
    assert [wording.text_in(text, "en"), wording.text_in(text, "vi")] == ["Waiting area", "Nơi ngồi chờ"]
    assert wording.text_in({"vi": "Chỉ tiếng Việt"}, "en") == "Chỉ tiếng Việt"
    assert (wording.text_in("Có", "en"), wording.text_in(None, "en"), wording.text_in({}, "en")) == ("Có", "", "")
