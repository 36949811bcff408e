import io

import pytest
from django.core.management import CommandError, call_command

from units.models import Unit
from units.services import UnitImportError, units_import_csv

pytestmark = pytest.mark.django_db

HEADER = "code,name,parent_code,level,valid_from,valid_to,successor_code\n"
GOOD = HEADER + (
    "08,Tỉnh Tuyên Quang,,province,2025-07-01,,\n"
    "08.STP,Sở Tư pháp,08,department,,,\n"
    "02212,Xã Sơn Dương,08,commune,2025-07-01,,\n"
    "076,Huyện Sơn Dương,08,district,,2025-06-30,\n"
    "02215,Thị trấn Sơn Dương,076,commune,,2025-06-30,02212\n"
)


def snapshot():
    return sorted(Unit.objects.values_list("code", "name", "level", "path", "depth", "valid_from", "valid_to",
                                           "parent__code", "successor__code"))


def test_it_imports_a_tree_with_paths_depths_and_successors():
    result = units_import_csv(text=GOOD)

    assert sorted(result.created) == ["02212", "02215", "076", "08", "08.STP"]
    old_town = Unit.objects.get(code="02215")
    assert old_town.path == "/08/076/02215/"
    assert old_town.depth == 2
    assert old_town.parent.code == "076"
    assert old_town.successor.code == "02212"
    assert str(old_town.valid_to) == "2025-06-30"
    assert Unit.objects.get(code="08").name == "Tỉnh Tuyên Quang"


def test_importing_the_same_file_again_changes_nothing():
    units_import_csv(text=GOOD)
    before = snapshot()

    result = units_import_csv(text=GOOD)

    assert result.created == [] and result.updated == []
    assert result.unchanged == 5
    assert snapshot() == before


def test_a_unit_given_a_new_parent_moves_with_its_whole_subtree():
    units_import_csv(text=GOOD)
    moved = GOOD.replace("076,Huyện Sơn Dương,08,", "076,Huyện Sơn Dương,08.STP,")

    result = units_import_csv(text=moved)

    assert result.updated == ["076"]
    assert Unit.objects.get(code="076").path == "/08/08.STP/076/"
    town = Unit.objects.get(code="02215")
    assert (town.path, town.depth) == ("/08/08.STP/076/02215/", 3)


def test_a_file_may_name_units_already_in_the_database_as_parents():
    units_import_csv(text=GOOD)

    units_import_csv(text=HEADER + "02212.TTPV,Trung tâm PVHCC xã Sơn Dương,02212,centre,,,\n")

    assert Unit.objects.get(code="02212.TTPV").path == "/08/02212/02212.TTPV/"


def test_it_accepts_the_file_without_the_optional_successor_column():
    units_import_csv(text="code,name,parent_code,level,valid_from,valid_to\n08,Tỉnh Tuyên Quang,,province,,\n")

    assert Unit.objects.filter(code="08").exists()


@pytest.mark.parametrize(
    "rows, message",
    [
        ("02212,Xã Sơn Dương,99,commune,,,\n", "row 3: parent_code '99' is not a known unit"),
        ("02212,Xã A,08,commune,,,\n02212,Xã B,08,commune,,,\n", "row 4: code '02212' is already used on row 3"),
        ("A,Đơn vị A,B,commune,,,\nB,Đơn vị B,A,commune,,,\n", "row 3: cycle in the tree: A → B → A"),
        ("02212,Xã Sơn Dương,,commune,2025-13-01,,\n", "row 3: valid_from '2025-13-01' is not a date"),
        ("02212,Xã Sơn Dương,,commune,2025-07-01,2025-01-01,\n", "row 3: valid_to 2025-01-01 is before valid_from"),
        ("02212,Xã Sơn Dương,,village,,,\n", "row 3: level 'village' is not one of"),
        ("02212,,,commune,,,\n", "row 3: name is empty"),
        ("0 2212,Xã,,commune,,,\n", "row 3: code '0 2212' must be"),
        ("02212,Xã,,commune,,,77\n", "row 3: successor_code '77' is not a known unit"),
        ("02212,Xã,,commune,,,02212\n", "row 3: a unit cannot be its own successor"),
        ("02212,Xã,,commune,,,,extra\n", "row 3: more values than columns"),
    ],
)
def test_a_bad_file_is_rejected_with_row_numbers_and_stores_nothing(rows, message):
    units_import_csv(text=HEADER + "08,Tỉnh Tuyên Quang,,province,,,\n")
    before = snapshot()
    # Row 2 renames the province: a good row, which must not be stored either.
    text = HEADER + "08,Tỉnh Tuyên Quang (đổi tên),,province,,,\n" + rows

    with pytest.raises(UnitImportError) as caught:
        units_import_csv(text=text)

    assert any(e.startswith(message) for e in caught.value.errors), caught.value.errors
    assert snapshot() == before


def test_a_cycle_through_units_already_in_the_database_is_rejected():
    units_import_csv(text=GOOD)

    with pytest.raises(UnitImportError) as caught:
        units_import_csv(text=HEADER + "08,Tỉnh Tuyên Quang,02215,province,,,\n")

    assert caught.value.errors == ["row 2: cycle in the tree: 08 → 02215 → 076 → 08"]


def test_a_wrong_header_is_named():
    with pytest.raises(UnitImportError) as caught:
        units_import_csv(text="code,ten,parent_code,level\n08,x,,province\n")

    assert caught.value.errors == [
        "row 1: missing column(s): name, valid_from, valid_to",
        "row 1: unknown column(s): ten",
    ]


def test_the_command_reports_every_error_and_fails(tmp_path):
    bad = tmp_path / "units.csv"
    bad.write_text(HEADER + "02212,Xã,99,commune,,,\n02230,Phường,,ward,,,\n", encoding="utf-8")
    err = io.StringIO()

    with pytest.raises(CommandError, match="rejected with 2 error"):
        call_command("import_units", str(bad), stderr=err)

    assert "row 2: parent_code '99'" in err.getvalue()
    assert "row 3: level 'ward'" in err.getvalue()
    assert Unit.objects.count() == 0


def test_the_command_imports_a_utf8_file_with_a_byte_order_mark(tmp_path):
    good = tmp_path / "units.csv"
    good.write_bytes(b"\xef\xbb\xbf" + GOOD.encode("utf-8"))
    out = io.StringIO()

    call_command("import_units", str(good), stdout=out)
    call_command("import_units", str(good), stdout=out)

    assert "5 created, 0 updated, 0 unchanged" in out.getvalue()
    assert "0 created, 0 updated, 5 unchanged" in out.getvalue()


def test_a_file_of_many_bad_rows_lists_the_first_problems_and_the_command_counts_the_others(tmp_path, settings):
    settings.IMPORT_ERROR_LIMIT = 3
    bad = tmp_path / "units.csv"
    bad.write_text(HEADER + "".join(f"X{i},Xã,,ward,,,\n" for i in range(10)), encoding="utf-8")
    err = io.StringIO()

    with pytest.raises(CommandError, match="rejected with 10 error"):
        call_command("import_units", str(bad), stderr=err)

    assert err.getvalue().splitlines()[-1] == f"{bad}: … and 7 more problems (only the first 3 are listed)."
    assert Unit.objects.count() == 0


def test_a_file_with_more_units_than_the_limit_is_refused(settings):
    settings.UNIT_IMPORT_MAX_ROWS = 2

    with pytest.raises(UnitImportError) as caught:
        units_import_csv(text=GOOD)

    assert caught.value.errors == [
        "row 4: the file has more than 2 units (UNIT_IMPORT_MAX_ROWS): is this the right file?"]
    assert Unit.objects.count() == 0


def test_bad_utf8_and_a_semicolon_file_from_excel(tmp_path):
    bad = tmp_path / "units.csv"
    bad.write_bytes(GOOD.encode("utf-8").replace("Xã Sơn Dương".encode(), b"X\xe3 S\xf5n D\xfd\xf5ng"))  # cp1258

    with pytest.raises(CommandError):
        call_command("import_units", str(bad), stderr=(err := io.StringIO()))
    assert "row 4: the file is not UTF-8 text" in err.getvalue()

    result = units_import_csv(text=GOOD.replace(",", ";"))
    assert len(result.created) == 5
