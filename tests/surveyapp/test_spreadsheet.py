from surveyapp.spreadsheet import csv_text, safe_cell


def test_text_that_a_spreadsheet_would_run_as_a_formula_is_defused():
    assert safe_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert safe_cell("+84 912") == "'+84 912"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("000.00.12.H56") == "000.00.12.H56"
    assert safe_cell(-3) == -3  # numbers stay numbers


def test_csv_text_starts_with_a_byte_order_mark_quotes_text_and_keeps_vietnamese():
    text = csv_text([["mã", "tên", "n"], ["02212", "Xã Sơn Dương", 12], ["x", None, -1.5]])

    assert text == '\ufeff"mã","tên","n"\r\n"02212","Xã Sơn Dương",12\r\n"x","",-1.5\r\n'
