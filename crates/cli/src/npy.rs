//! NumPy `.npy` files of float32, the CLI's format for raw inputs, logits and activations.
//!
//! Only what the CLI exchanges: version 1.0–3.0 headers, little-endian `<f4`, C order. Sizes are checked
//! against the file before anything is allocated.

use anyhow::{Context as _, Result, bail};

const MAGIC: &[u8] = b"\x93NUMPY";

/// Read a float32 array: its shape and values.
pub fn read(bytes: &[u8]) -> Result<(Vec<usize>, Vec<f32>)> {
    if !bytes.starts_with(MAGIC) {
        bail!("not a .npy file (no \\x93NUMPY magic)");
    }
    let major = *bytes.get(6).context("truncated .npy header")?;
    let (header_len, start) = match major {
        1 => (
            u16::from_le_bytes([*bytes.get(8).context("truncated")?, *bytes.get(9).context("truncated")?]) as usize,
            10,
        ),
        2 | 3 => {
            let b: [u8; 4] = bytes.get(8..12).context("truncated .npy header")?.try_into()?;
            (u32::from_le_bytes(b) as usize, 12)
        }
        v => bail!(".npy version {v} is not supported"),
    };
    if header_len > 1 << 16 {
        bail!(".npy header of {header_len} bytes is implausibly large");
    }
    let header = std::str::from_utf8(bytes.get(start..start + header_len).context("truncated .npy header")?)
        .context(".npy header is not text")?;
    let field = |name: &str| -> Option<&str> {
        let at = header.find(&format!("'{name}'"))? + name.len() + 2;
        Some(header.get(at..)?.trim_start_matches([':', ' ']))
    };
    let descr = field("descr").context(".npy header has no descr")?;
    if !(descr.starts_with("'<f4'") || descr.starts_with("'float32'")) {
        bail!(
            ".npy data must be little-endian float32 ('<f4'), the header says {}",
            descr.split(',').next().unwrap_or("")
        );
    }
    if field("fortran_order").is_some_and(|v| v.starts_with("True")) {
        bail!(".npy data in Fortran order is not supported (save a C-contiguous array)");
    }
    let shape_text = field("shape").context(".npy header has no shape")?;
    let inner = shape_text.trim_start_matches('(').split(')').next().unwrap_or("");
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().with_context(|| format!("bad .npy dimension {s:?}")))
        .collect::<Result<Vec<usize>>>()?;
    let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).context(".npy shape overflows")?;
    let data = bytes.get(start + header_len..).context("truncated .npy data")?;
    if data.len() != count.checked_mul(4).context("size overflow")? {
        bail!(".npy holds {} bytes of data; its shape {shape:?} needs {}", data.len(), count * 4);
    }
    let values = data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap_or_default())).collect();
    Ok((shape, values))
}

/// Write a float32 array (C order): `convscope_engine::npy`, shared with the app's map downloads.
pub fn write(shape: &[usize], values: &[f32]) -> Vec<u8> {
    convscope_engine::npy(shape, values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let bytes = write(&[1, 3, 2, 2], &(0..12).map(|i| i as f32).collect::<Vec<_>>());
        assert_eq!((bytes.len() - 48) % 64, 0, "the 12 float32 values start on a 64-byte boundary");
        let (shape, values) = read(&bytes).expect("reads");
        assert_eq!(shape, vec![1, 3, 2, 2]);
        assert_eq!(values[11], 11.0);
        assert!(read(&bytes[..bytes.len() - 1]).is_err());
        assert!(read(b"PK\x03\x04").is_err());
        let f64_header = String::from_utf8_lossy(&bytes).replace("<f4", "<f8");
        assert!(read(f64_header.as_bytes()).is_err());
    }
}
