#!/usr/bin/env python3
"""One-time extraction of scikit-learn's bundled 8x8 digit images into models/data/digits.bin.

    pip install scikit-learn && python3 scripts/jepa-graphs/extract_digits.py models/data

The data is the UCI optdigits set as scikit-learn ships it (1797 images, 8x8, grey levels 0..16).
Record format (one per image, 65 bytes): label (u8, 0..9), then 64 pixels (u8, 0..16), row-major.
Captions are not stored: the Rust side builds them from the labels ("digit seven", ...).
scikit-learn is needed only here; nothing is fetched at run time.
"""
import hashlib
import json
import os
import sys

import numpy as np
from sklearn.datasets import load_digits


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "models/data"
    digits = load_digits()
    images = np.asarray(digits.images, dtype=np.uint8).reshape(-1, 64)
    labels = np.asarray(digits.target, dtype=np.uint8)
    records = np.concatenate([labels[:, None], images], axis=1)
    data = records.tobytes()
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "digits.bin"), "wb") as f:
        f.write(data)
    meta = {"source": "scikit-learn load_digits (UCI optdigits), extracted by "
                      "scripts/jepa-graphs/extract_digits.py",
            "count": int(len(labels)), "record_bytes": 65, "image_side": 8, "max_pixel": 16,
            "record": "label u8 (0..9), then 64 pixels u8 (0..16), row-major",
            "sha256": hashlib.sha256(data).hexdigest()}
    with open(os.path.join(out_dir, "digits.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
