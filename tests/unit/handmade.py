"""Hand-made cuts for tests: the least a folder needs to be a PREP cut (cutdata.py), a CSV
whose second line is the cut's time, written as prep_iac.corte writes it."""

from pathlib import Path
from zoneinfo import ZoneInfo

from prep_iac import contract
from prep_iac.corte.csvwriter import csv_head

IEC_ZONE = ZoneInfo("America/Monterrey")
CSV_NAME = "COAH_AYUN_2021.csv"


def time_csv(folder: Path, cut_id: str | None = None, name: str = CSV_NAME) -> Path:
    """`folder/name` saying the time that `cut_id` (default: the folder's name) names."""
    local = contract.parse_cut_id(cut_id or Path(folder).name)
    assert local is not None, f"name the hand-made cut after its time, not {cut_id!r}"
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_head(local.replace(tzinfo=IEC_ZONE)).encode())
    return path


def iso_time(cut_id: str) -> str:
    """The ISO-8601 time (IEC's offset) that a hand-made cut's name stands for."""
    return contract.parse_cut_id(cut_id).replace(tzinfo=IEC_ZONE).isoformat()
