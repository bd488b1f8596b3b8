"""``deltanet predict`` on a Parquet table larger than memory: the rows are read one record
batch at a time, coded by the model file's preprocessing, predicted, and appended to the
output file (Parquet or CSV), so memory holds one batch whatever the table's size. The
output is written beside its final name and moved there when complete."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

#: rows per batch when the budget does not bound them more tightly
MAX_BATCH_ROWS = 65536


def should_stream(data: str, out: str | None, memory: Any) -> bool:
    """Stream when DATA is a Parquet file larger than the budget and the predictions go to
    a .parquet or .csv file."""
    from deltanet.data.stream import default_memory
    from deltanet.data.stream_sources import parse_bytes

    path = Path(data)
    if out is None or path.suffix.lower() != ".parquet" or not path.is_file():
        return False
    if Path(out).suffix.lower() not in (".parquet", ".csv"):
        return False
    budget = default_memory() if memory is None else parse_bytes(memory)
    return path.stat().st_size > budget


def predict_stream(model: Any, data: str, out: str, proba: bool, memory: Any
                   ) -> tuple[int, list]:
    """Write the predictions of ``model`` for the rows of the Parquet file ``data`` to
    ``out``, batch by batch; returns the number of rows and the output's columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from deltanet.data.stream import default_memory
    from deltanet.data.stream_sources import parse_bytes

    from .model_file import predictions

    source = pq.ParquetFile(data)
    budget = default_memory() if memory is None else parse_bytes(memory)
    row_bytes = max(1, source.metadata.serialized_size // max(1, source.metadata.num_rows))
    row_bytes = max(row_bytes, 8 * source.metadata.num_columns)
    rows = int(max(1, min(MAX_BATCH_ROWS, budget // (20 * row_bytes))))
    final = Path(out)
    part = final.with_name(f".{final.name}.part")
    written, writer, columns = 0, None, []
    try:
        with open(part, "wb") as sink:
            for batch in source.iter_batches(batch_size=rows):
                frame = batch.to_pandas()
                frame.index += written  # row numbers of the whole table in messages
                table = predictions(model, frame, proba=proba)
                if final.suffix.lower() == ".csv":
                    sink.write(table.to_csv(index=False, header=written == 0).encode())
                else:
                    arrow = pa.Table.from_pandas(table, preserve_index=False)
                    writer = writer or pq.ParquetWriter(sink, arrow.schema)
                    writer.write_table(arrow)
                written, columns = written + len(table), list(table.columns)
            if writer is not None:
                writer.close()
        os.replace(part, final)
    finally:
        if part.exists():
            part.unlink()
    return written, columns
