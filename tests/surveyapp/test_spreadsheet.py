import pytest

from surveyapp.spreadsheet import (
    MAX_LINE_CHARACTERS,
    CsvReadError,
    Problems,
    csv_records,
    csv_text,
    more_problems,
    safe_cell,
)


def test_text_that_a_spreadsheet_would_run_as_a_formula_is_defused():
    assert safe_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert safe_cell("+84 912") == "'+84 912"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("000.00.12.H56") == "000.00.12.H56"
    assert safe_cell(-3) == -3  # numbers stay numbers


def test_csv_text_starts_with_a_byte_order_mark_quotes_text_and_keeps_vietnamese():
    text = csv_text([["mã", "tên", "n"], ["02212", "Xã Sơn Dương", 12], ["x", None, -1.5]])

    assert text == '\ufeff"mã","tên","n"\r\n"02212","Xã Sơn Dương",12\r\n"x","",-1.5\r\n'


# Reading


def read(data, chunk=3):
    """Records of bytes fed in small chunks, so that line breaks and letters fall across them."""
    return list(csv_records(Chunked(data, chunk)))


class Chunked:
    def __init__(self, data, size):
        self.data, self.size = data, size

    def chunks(self, _size=None):
        return (self.data[i:i + self.size] for i in range(0, len(self.data), self.size))


def test_records_come_with_their_line_whatever_the_chunks_cut():
    data = "\ufeffmã,tên\r\n02212,\"Xã\r\nSơn Dương\"\r\n\r\n08,Tỉnh\n09,Cuối".encode()

    for size in (1, 2, 3, 5, 64 * 1024):
        assert read(data, size) == [(1, ["mã", "tên"]), (2, ["02212", "Xã\r\nSơn Dương"]), (4, []),
                                    (5, ["08", "Tỉnh"]), (6, ["09", "Cuối"])], size


def test_a_header_with_semicolons_and_no_comma_means_excel_set_to_vietnamese():
    assert read(b"code;name\r\n1;a,b\r\n") == [(1, ["code", "name"]), (2, ["1", "a,b"])]
    assert read(b"code,name\r\n1;a,b\r\n") == [(1, ["code", "name"]), (2, ["1;a", "b"])]


@pytest.mark.parametrize("data, line, message", [
    (b"a,b\r\n1,2\r\n3,\xff\r\n", 3, "the file is not UTF-8 text"),
    ("a,b\r\nSơn Dương,1\r\n".encode("cp1258"), 2, "the file is not UTF-8 text"),
    (b"\xff\xfea\x00,\x00", 1, "the file is not UTF-8 text"),
    (b"a,b\r\n1,2\r\n3,4\x00\r\n", 3, "holds a NUL character"),
    (b"a,b\r\n\"x\" y\"z,\r\n" + b"1," + b"x" * 200_000 + b"\r\n", 3, "not readable as CSV"),
    (b"a,b\r\n" + b"x" * (MAX_LINE_CHARACTERS + 10), 2, "the line is longer than"),
])
def test_a_file_that_cannot_be_read_is_named_with_its_line(data, line, message):
    with pytest.raises(CsvReadError) as caught:
        read(data, 4096)

    assert (caught.value.line, caught.value.message[:len(message)]) == (line, message)


def test_problems_past_the_limit_are_counted_not_kept():
    problems = Problems(limit=2)
    for line in (5, 3, 9, 1):
        problems.add(f"row {line}", line)

    problems.sort()
    assert (problems.messages, problems.more, problems.count) == (["row 3", "row 5"], 2, 4)
    assert more_problems(2) == "… and 2 more problems (only the first 200 are listed)."


def test_the_excel_vi_dialect_splits_on_semicolons_and_writes_decimal_commas():
    from surveyapp.spreadsheet import EXCEL_VI, csv_text

    text = csv_text([["Đơn vị", "n", "Tỷ lệ"], ["Xã Sơn Dương; Tuyên Quang", 1930, 86.45],
                     ['Nói "tốt"', -3, 1.2e-05], [None, 0, "=1+1"]], dialect=EXCEL_VI)

    assert text == ('\ufeff"Đơn vị";"n";"Tỷ lệ"\r\n'
                    '"Xã Sơn Dương; Tuyên Quang";1930;86,45\r\n'
                    '"Nói ""tốt""";-3;0,000012\r\n'
                    '"";0;"\'=1+1"\r\n')


def test_the_standard_dialect_is_the_default_and_unchanged():
    from surveyapp.spreadsheet import csv_text

    assert csv_text([["a", 1.5, 2]]) == '\ufeff"a",1.5,2\r\n'
