from pathlib import Path

import pytest

from pipeline.ocr.evaluate import cer, matched_lines, parse_ids, read_gt_lines, total_found


def test_cer_and_line_matching_follow_sroie_conventions() -> None:
    assert cer("ABCDEFGHIJ", "ABCDEFGHIX") == pytest.approx(0.1)
    gt = ["MR. D.I.Y. (KUCHAI) SDN BHD", "TOTAL", "12.50"]
    # case and spacing differences are annotation style; one wrong char in 5 is not a match
    assert matched_lines(gt, ["MR.D.I.Y.(KUCHAI) SDN BHD", "Total", "12.5O"]) == 2
    # one predicted line can match one GT line only
    assert matched_lines(["TOTAL", "TOTAL"], ["TOTAL"]) == 1


def test_total_found_is_verbatim() -> None:
    assert total_found("110.00", ["TOTAL 110.00"])
    assert not total_found("110.00", ["TOTAL 110.0O"])
    assert total_found("RM 29.70", ["RM", "29.70"]) is False or total_found("RM 29.70", ["RM 29.70"])


def test_parse_ids() -> None:
    assert parse_ids("400-402,7") == ["400", "401", "402", "007"]


def test_read_gt_keeps_commas_in_text(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("1,2,3,4,5,6,7,8,NO.54, BATU 5,JALAN IPOH,\r\n1,2,3,4,5,6,7,8,  \n")
    assert read_gt_lines(p) == ["NO.54, BATU 5,JALAN IPOH,"]


def test_gt_reading_order_puts_amounts_next_to_their_labels(tmp_path: Path) -> None:
    from pipeline.ocr.evaluate import gt_in_reading_order, read_gt

    p = tmp_path / "g.csv"
    # annotator order: both labels first, then both amounts (a column listed after its rows)
    p.write_text(
        "10,10,80,10,80,30,10,30,TOTAL\n10,40,80,40,80,60,10,60,CASH\n"
        "200,12,260,12,260,31,200,31,12.50\n200,41,260,41,260,60,200,60,20.00\n"
    )
    assert gt_in_reading_order(read_gt(p)) == ["TOTAL", "12.50", "CASH", "20.00"]
