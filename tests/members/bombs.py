"""Hostile workbooks for the import tests and bench/zip_bomb.py: zip and XML bombs."""

from __future__ import annotations

import io
import struct
import zipfile

# Refused before any part is read, so the parts' content barely matters.
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
)


def inflating_xlsx(inflated_bytes: int = 1024 ** 3) -> bytes:
    """A workbook whose sheet inflates to `inflated_bytes` (1 GB by default) of one cell
    repeated: about 1 MB on disk, as the issue found it."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            chunk = b" " * (1024 * 1024)  # whitespace: well-formed, and deflates 1000:1
            written = 0
            while written < inflated_bytes:
                sheet.write(chunk)
                written += len(chunk)
    return out.getvalue()


def lying_xlsx(inflated_bytes: int = 200 * 1024 * 1024) -> bytes:
    """A workbook whose sheet declares 1 KB but inflates to `inflated_bytes`: only counting
    the bytes that come out catches it."""
    data = bytearray(inflating_xlsx(inflated_bytes))
    # Rewrite the sheet's sizes in its local header and its central directory entry.
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    assert info.file_size < 0xFFFFFFFF  # the plain size fields hold it (not zip64's)
    start = 0
    while (at := data.find(b"xl/worksheets/sheet1.xml", start)) != -1:
        header = data.rfind(b"PK", 0, at)
        sig = bytes(data[header:header + 4])
        if sig == b"PK\x03\x04":
            struct.pack_into("<I", data, header + 22, 1024)
        elif sig == b"PK\x01\x02":
            struct.pack_into("<I", data, header + 24, 1024)
        start = at + 1
    return bytes(data)


def billion_laughs_xlsx() -> bytes:
    """A workbook whose sheet defines nested entities (an XML bomb: 10^9 "lol"s)."""
    from openpyxl import Workbook

    entities = '<!ENTITY a0 "lol">' + "".join(
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    sheet = (f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]>'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&a9;</t></is></c></row>'
             "</sheetData></worksheet>")
    plain = io.BytesIO()
    wb = Workbook()
    wb.active.append(["Alias"])
    wb.save(plain)
    src = zipfile.ZipFile(io.BytesIO(plain.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            dst.writestr(item, sheet.encode() if item.filename.endswith("sheet1.xml") else body)
    return out.getvalue()
