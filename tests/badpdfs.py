"""Bad inputs made on the fly: corrupt, encrypted, zero-page and non-PDF files."""

from __future__ import annotations

from pathlib import Path

import pymupdf


def good_pdf_bytes(text: str = "Hello") -> bytes:
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), text)
    return doc.tobytes()


def encrypted_pdf_bytes() -> bytes:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "secret")
    return doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="user", owner_pw="owner")


def zero_page_pdf_bytes() -> bytes:
    """A syntactically valid PDF whose page tree is empty (PyMuPDF refuses to write one)."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def corrupt_pdf_bytes() -> bytes:
    return b"%PDF-1.7\n" + bytes(range(256)) * 8


def write_bad_inputs(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "corrupt": (folder / "corrupt.pdf", corrupt_pdf_bytes()),
        "encrypted": (folder / "encrypted.pdf", encrypted_pdf_bytes()),
        "zero_pages": (folder / "zero_pages.pdf", zero_page_pdf_bytes()),
        "not_pdf": (folder / "notes.pdf", b"just some text, not a PDF\n"),
        "empty": (folder / "empty.pdf", b""),
    }
    for path, data in files.values():
        path.write_bytes(data)
    return {k: v[0] for k, v in files.items()}
