"""prep_iac.corte: realistic PREP cuts of an election night, in the Institute's formats.

    from prep_iac.corte import Election, write_cut, series_times
    election = Election(seed=7, actas=4000)
    for at in series_times(election, "18:00", "06:00", "10m"):
        folder = write_cut(election, at, "out/")
"""

from prep_iac.corte.csvwriter import CsvFormat
from prep_iac.corte.cut import prepare_images, write_cut, write_series
from prep_iac.corte.election import Election, series_times
from prep_iac.corte.timing import cut_id

__all__ = ["CsvFormat", "Election", "cut_id", "prepare_images", "series_times", "write_cut",
           "write_series"]
