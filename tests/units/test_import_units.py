import io

import pytest
from django.core.management import CommandError, call_command

from units.access import AdminScope
from units.models import Unit
from units.services import UnitImportChanged, UnitImportError, units_import_csv, units_import_preview

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


def test_a_file_excel_saved_without_leading_zeros_updates_the_units_it_was_exported_with():
    units_import_csv(text=GOOD)
    before = snapshot()
    # Opened in Excel and saved: 08 became 8, 02212 became 2212, 076 became 76; one name was edited.
    excel = HEADER + (
        "8,Tỉnh Tuyên Quang,,province,2025-07-01,,\n"
        "2212,Xã Sơn Dương mới,8,commune,2025-07-01,,\n"
        "2215,Thị trấn Sơn Dương,76,commune,,2025-06-30,2212\n"
    )

    plan = units_import_preview(text=excel)
    result = units_import_csv(text=excel, expect=plan.digest)

    assert plan.created == [] and [change.code for change in plan.updated] == ["02212"]
    assert result.created == [] and result.updated == ["02212"]
    assert sorted(Unit.objects.values_list("code", flat=True)) == ["02212", "02215", "076", "08", "08.STP"]
    after = snapshot()
    assert [row for row in after if row not in before] == [
        ("02212", "Xã Sơn Dương mới", "commune", "/08/02212/", 1, *before[0][5:7], "08", None)]


def test_a_file_with_both_a_code_and_its_zeroless_twin_is_left_as_written():
    units_import_csv(text=GOOD)

    result = units_import_csv(text=HEADER + "2212,Xã mới,08,commune,,,\n02212,Xã Sơn Dương,08,commune,2025-07-01,,\n")

    assert result.created == ["2212"]


def test_it_accepts_the_file_without_the_optional_successor_column():
    units_import_csv(text="code,name,parent_code,level,valid_from,valid_to\n08,Tỉnh Tuyên Quang,,province,,\n")

    assert Unit.objects.filter(code="08").exists()


@pytest.mark.parametrize(
    "rows, message",
    [
        ("02212,Xã Sơn Dương,99,commune,,,\n", "row 3, parent_code: “99” is not a known unit"),
        ("02212,Xã A,08,commune,,,\n02212,Xã B,08,commune,,,\n", "row 4, code: “02212” is already used on row 3"),
        ("A,Đơn vị A,B,commune,,,\nB,Đơn vị B,A,commune,,,\n", "row 3, parent_code: cycle in the tree: A → B → A"),
        ("02212,Xã Sơn Dương,,commune,2025-13-01,,\n", "row 3, valid_from: “2025-13-01” is not a date"),
        ("02212,Xã Sơn Dương,,commune,2025-07-01,2025-01-01,\n", "row 3, valid_to: 2025-01-01 is before valid_from"),
        ("02212,Xã Sơn Dương,,village,,,\n", "row 3, level: “village” is not one of"),
        ("02212,,,commune,,,\n", "row 3, name: the name is empty"),
        ("0 2212,Xã,,commune,,,\n", "row 3, code: “0 2212” is not a code"),
        ("02212,Xã,,commune,,,77\n", "row 3, successor_code: “77” is not a known unit"),
        ("02212,Xã,,commune,,,02212\n", "row 3, successor_code: a unit cannot be its own successor"),
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

    assert caught.value.errors == ["row 2, parent_code: cycle in the tree: 08 → 02215 → 076 → 08"]


def test_a_wrong_header_is_named():
    with pytest.raises(UnitImportError) as caught:
        units_import_csv(text="code,ten,parent_code,level\n08,x,,province\n")

    assert caught.value.errors == [
        "row 1: missing column(s): name, valid_from, valid_to",
        "row 1: unknown column(s): ten (the header is code,name,parent_code,level,valid_from,valid_to,successor_code)",
    ]


def test_the_command_reports_every_error_and_fails(tmp_path):
    bad = tmp_path / "units.csv"
    bad.write_text(HEADER + "02212,Xã,99,commune,,,\n02230,Phường,,ward,,,\n", encoding="utf-8")
    err = io.StringIO()

    with pytest.raises(CommandError, match="rejected with 2 error"):
        call_command("import_units", str(bad), stderr=err)

    assert "row 2, parent_code: “99” is not a known unit" in err.getvalue()
    assert "row 3, level: “ward” is not one of" in err.getvalue()
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


# ---------------------------------------------------------------------------------------------
# The preview, and an administrator's import limited to their subtree

def scope_of(*codes):
    return AdminScope(paths=tuple(Unit.objects.get(code=code).path for code in codes))


def test_the_preview_says_what_would_be_added_changed_and_closed_and_writes_nothing():
    units_import_csv(text=GOOD)
    before = snapshot()
    text = GOOD.replace("08.STP,Sở Tư pháp,", "08.STP,Sở Tư pháp tỉnh Tuyên Quang,").replace(
        "02212,Xã Sơn Dương,08,commune,2025-07-01,,", "02212,Xã Sơn Dương,08,commune,2025-07-01,2026-12-31,") + (
        "02230,Phường Minh Xuân,08,commune,2025-07-01,,\n")

    plan = units_import_preview(text=text)

    assert snapshot() == before
    assert [(c.row, c.code, c.name, c.level, c.parent_code) for c in plan.created] == [
        (7, "02230", "Phường Minh Xuân", "Commune or ward", "08")]
    assert {c.code: c.changes for c in plan.updated} == {
        "08.STP": [("name", "Sở Tư pháp", "Sở Tư pháp tỉnh Tuyên Quang")],
        "02212": [("valid_to", "", "31/12/2026")],
    }
    assert [c.code for c in plan.closed] == ["02212"]
    assert plan.unchanged == 3


def test_the_preview_counts_the_units_that_move_along_with_a_new_parent():
    units_import_csv(text=GOOD)

    plan = units_import_preview(text=HEADER + "076,Huyện Sơn Dương,08.STP,district,,2025-06-30,\n")

    (change,) = plan.updated
    assert change.changes == [("parent_code", "08", "08.STP")]
    assert change.units_moved_along == 1


def test_an_import_writes_only_what_its_preview_showed():
    units_import_csv(text=GOOD)
    text = GOOD.replace("08.STP,Sở Tư pháp,", "08.STP,Sở Tư pháp (mới),")
    plan = units_import_preview(text=text)
    Unit.objects.filter(code="02212").update(name="Xã Sơn Dương (đổi tên ở nơi khác)")  # meanwhile
    before = snapshot()

    with pytest.raises(UnitImportChanged) as caught:
        units_import_csv(text=text, expect=plan.digest)

    assert snapshot() == before
    assert {c.code for c in caught.value.plan.updated} == {"08.STP", "02212"}
    result = units_import_csv(text=text, expect=caught.value.plan.digest)
    assert sorted(result.updated) == ["02212", "08.STP"]


def test_the_digest_does_not_depend_on_the_language():
    from django.utils import translation

    units_import_csv(text=GOOD)
    text = GOOD.replace("076,Huyện Sơn Dương,08,district,", "076,Huyện Sơn Dương,08,commune,")
    english = units_import_preview(text=text)
    with translation.override("vi"):
        vietnamese = units_import_preview(text=text)

    assert english.updated[0].changes == [("level", "District (before 1 July 2025)", "Commune or ward")]
    assert vietnamese.updated[0].changes == [("level", "Huyện (trước 01/7/2025)", "Xã, phường")]
    assert english.digest == vietnamese.digest


def test_a_file_without_the_successor_column_leaves_successors_as_they_are():
    units_import_csv(text=GOOD)

    units_import_csv(text="code,name,parent_code,level,valid_from,valid_to\n"
                          "02215,Thị trấn Sơn Dương,076,commune,,2025-06-30\n")

    assert Unit.objects.get(code="02215").successor.code == "02212"


def test_problems_name_their_row_and_column_in_vietnamese_too():
    from django.utils import translation

    with translation.override("vi"):
        with pytest.raises(UnitImportError) as caught:
            units_import_csv(text=HEADER + "08,Tỉnh,,tinh,2025-13-01,,\n")
        as_text = caught.value.errors

    assert [(p.row, p.column) for p in caught.value.problems] == [(2, "level"), (2, "valid_from")]
    assert caught.value.problems[0].message == (
        "“tinh” không phải là một trong province, department, centre, district, commune, vertical")
    assert as_text[1] == ("dòng 2, cột valid_from: “2025-13-01” không phải là ngày theo dạng YYYY-MM-DD, "
                          "ví dụ 2025-06-30")


def test_an_administrator_imports_only_inside_their_subtree():
    units_import_csv(text=GOOD + "10,Tỉnh Lào Cai,,province,,,\n10.STP,Sở Tư pháp Lào Cai,10,department,,,\n")
    before = snapshot()
    text = HEADER + (
        "08.SYT,Sở Y tế,08,department,,,\n"  # fine: under the province
        "10.SYT,Sở Y tế Lào Cai,10,department,,,\n"  # under another province
        "10.STP,Sở Tư pháp,08,department,,,\n"  # moves another province's unit here
        "99,Tỉnh mới,,province,,,\n"  # a new root
        "02290,Xã mới,08,commune,,,10\n"  # successor in another province
    )

    with pytest.raises(UnitImportError) as caught:
        units_import_csv(text=text, scope=scope_of("08"))

    assert caught.value.errors == [
        "row 3, parent_code: “10” is not a known unit",
        "row 4, code: “10.STP” is the code of a unit you do not administer",
        "row 5, parent_code: without a parent_code the unit would be outside the units you administer: give the "
        "code of one of your units",
        "row 6, successor_code: “10” is not a known unit",
    ]
    assert snapshot() == before


def test_an_administrator_below_the_root_may_list_their_own_unit_with_its_parent():
    units_import_csv(text=GOOD)

    result = units_import_csv(text=HEADER + "08.STP,Sở Tư pháp tỉnh Tuyên Quang,08,department,,,\n"
                                            "08.STP.TT,Trung tâm Trợ giúp pháp lý,08.STP,centre,,,\n",
                              scope=scope_of("08.STP"))

    assert (result.created, result.updated) == (["08.STP.TT"], ["08.STP"])
    with pytest.raises(UnitImportError) as caught:
        units_import_csv(text=HEADER + "08.STP,Sở Tư pháp,02212,department,,,\n", scope=scope_of("08.STP"))
    assert caught.value.errors == ["row 2, parent_code: “02212” is not a known unit"]
