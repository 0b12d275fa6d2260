#!/usr/bin/env python3
"""Write crates/input/tests/fixtures (not run in CI; Pillow from the tools venv).

A 6×4 test card (left half red, right half blue, top-left pixel green) in every format the app reads,
a JPEG whose EXIF orientation is 6 (display rotated 90° clockwise), a two-frame GIF, and a PNG whose
header claims 100000 × 100000 pixels.
"""

import struct
import zlib
from pathlib import Path

from PIL import Image

OUT = Path(__file__).resolve().parent.parent / "crates" / "input" / "tests" / "fixtures"


def card():
    im = Image.new("RGB", (6, 4), (255, 0, 0))
    for x in range(3, 6):
        for y in range(4):
            im.putpixel((x, y), (0, 0, 255))
    im.putpixel((0, 0), (0, 255, 0))
    return im


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    im = card()
    im.save(OUT / "card.png")
    im.save(OUT / "card.bmp")
    im.save(OUT / "card.webp", lossless=True)
    im.save(OUT / "card.jpg", quality=100, subsampling=0)
    exif = Image.Exif()
    exif[0x0112] = 6
    im.save(OUT / "card_rotated.jpg", quality=100, subsampling=0, exif=exif)
    second = Image.new("RGB", (6, 4), (255, 255, 255))
    im.save(OUT / "card.gif", save_all=True, append_images=[second], duration=100, loop=0)
    # A well-formed PNG whose IHDR claims 100000 × 100000 pixels, with a tiny IDAT and IEND.
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")
    (OUT / "huge_header.png").write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    for f in sorted(OUT.iterdir()):
        print(f.name, f.stat().st_size)


if __name__ == "__main__":
    main()
