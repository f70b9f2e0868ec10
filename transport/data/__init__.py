"""Data: read a data folder (``load``), check it (``validate``) and geocode postcodes."""
