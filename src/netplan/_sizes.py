"""Chunk and partition sizes of the streamed readers, importable without pandas.

:mod:`netplan.stream` uses them; the command line shows them as option
defaults, and must not import the streaming machinery just to start.
"""

from __future__ import annotations

#: Rows read and validated at a time (a chunk needs a few hundred MB at most).
DEFAULT_CHUNK_ROWS = 500_000
#: Rows per GeoParquet file written by :func:`netplan.stream.convert_to_geoparquet`.
DEFAULT_ROWS_PER_PARTITION = 1_000_000
