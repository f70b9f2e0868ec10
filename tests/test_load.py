import pytest

from transport.data.load import load_tables, parse_csv_text
from transport.errors import InputError


def test_bom_crlf_padding_and_blank_rows_are_absorbed():
    text = "\ufeffPupil_ID , Age\r\n P1 , 7 \r\n\r\n,\r\nP2,9\r\n"
    frame = parse_csv_text(text, file="pupils.csv")
    assert list(frame.columns) == ["pupil_id", "age"]
    assert frame.to_dict("records") == [
        {"pupil_id": "P1", "age": "7"},
        {"pupil_id": "P2", "age": "9"},
    ]


def test_semicolon_separated_file_from_a_european_excel():
    frame = parse_csv_text("a;b\n1;2\n", file="x.csv")
    assert frame.to_dict("records") == [{"a": "1", "b": "2"}]


def test_empty_file_is_a_problem():
    with pytest.raises(InputError, match="empty"):
        parse_csv_text("", file="pupils.csv")


def test_row_with_too_many_cells_is_reported_with_its_line():
    with pytest.raises(InputError) as err:
        parse_csv_text("a,b\n1,2\n1,2,3\n", file="x.csv")
    assert err.value.problems[0].row == 3


def test_missing_files_all_reported(tmp_path):
    with pytest.raises(InputError) as err:
        load_tables(tmp_path)
    names = {p.file for p in err.value.problems}
    assert names == {"schools.csv", "pupils.csv", "vehicles.csv"}


def test_tiny_folder_loads(tiny_dir):
    raw = load_tables(tiny_dir)
    assert len(raw.pupils) == 12 and len(raw.schools) == 4 and raw.incompatible is not None
