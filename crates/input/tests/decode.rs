//! Decoding every supported format, EXIF orientation, limits and bad input (tools/image_fixtures.py).

#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;

use convscope_input::{Header, ImageError, decode, header, preprocess};
use convscope_zoo::InputSpec;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).expect("fixture")
}

fn near(a: [u8; 3], b: [u8; 3], tolerance: u8) -> bool {
    a.iter().zip(&b).all(|(x, y)| x.abs_diff(*y) <= tolerance)
}

#[test]
fn every_format_decodes_to_the_same_card() {
    // Lossless formats exactly; JPEG (quality 100, no subsampling) within a few levels.
    for (file, format, tolerance) in [
        ("card.png", "PNG", 0),
        ("card.bmp", "BMP", 0),
        ("card.webp", "WebP", 0),
        ("card.gif", "GIF", 0),
        ("card.jpg", "JPEG", 40),
    ] {
        let photo = decode(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(photo.format, format);
        assert_eq!(photo.rgb.dimensions(), (6, 4), "{file}");
        assert!(near(photo.rgb.get_pixel(0, 0).0, [0, 255, 0], tolerance), "{file}: top-left green");
        assert!(near(photo.rgb.get_pixel(1, 2).0, [255, 0, 0], tolerance), "{file}: left red");
        assert!(near(photo.rgb.get_pixel(5, 3).0, [0, 0, 255], tolerance), "{file}: right blue, the GIF's first frame");
    }
}

#[test]
fn exif_orientation_is_honoured() {
    // Orientation 6: the stored 6×4 picture displays rotated 90° clockwise, 4×6, its top-left pixel
    // (green) now top-right.
    let photo = decode(&fixture("card_rotated.jpg")).expect("jpeg");
    assert_eq!(photo.rgb.dimensions(), (4, 6));
    assert!(near(photo.rgb.get_pixel(3, 0).0, [0, 255, 0], 40));
    assert!(near(photo.rgb.get_pixel(1, 5).0, [0, 0, 255], 40));
}

/// The header alone gives the format and the upright size the decoded photo has, and is refused as
/// decoding would be.
#[test]
fn headers_give_the_decoded_size_and_limits() {
    for file in ["card.png", "card.bmp", "card.webp", "card.gif", "card.jpg", "card_rotated.jpg", "card_cmyk.jpg"] {
        let bytes = fixture(file);
        let photo = decode(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        let (width, height) = photo.rgb.dimensions();
        assert_eq!(header(&bytes), Ok(Header { format: photo.format, width, height }), "{file}");
    }
    let err = header(&fixture("huge_header.png")).expect_err("too large");
    assert_eq!(err, ImageError::TooLarge { width: 100_000, height: 100_000 });
    assert!(matches!(header(b"%PDF-1.7"), Err(ImageError::NotAnImage(_))));
}

#[test]
fn a_header_above_the_pixel_limit_is_refused_before_decoding() {
    let err = decode(&fixture("huge_header.png")).expect_err("too large");
    assert_eq!(err, ImageError::TooLarge { width: 100_000, height: 100_000 });
    assert!(err.to_string().contains("limit is 50 megapixels"), "{err}");
}

#[test]
fn bad_input_is_named() {
    let err = decode(b"%PDF-1.7 not a picture").expect_err("pdf");
    assert!(matches!(err, ImageError::NotAnImage(_)), "{err}");
    assert!(err.to_string().contains("255044462d"), "{err}");
    let png = fixture("card.png");
    let err = decode(&png[..png.len() / 2]).expect_err("truncated");
    assert!(matches!(err, ImageError::Corrupt(_)), "{err}");
    assert!(decode(&[]).is_err());
}

#[test]
fn preprocessing_resizes_the_short_side_crops_and_normalizes() {
    let photo = decode(&fixture("card.png")).expect("png");
    // Resize the short side 4 → 8 (long side 12), crop 8×8 from the middle, mean 0.5 / std 0.5.
    let spec = InputSpec { resolution: 8, resize: 8, mean: [0.5; 3], std: [0.5; 3] };
    let prepared = preprocess(&photo, &spec);
    assert_eq!(prepared.cropped.dimensions(), (8, 8));
    assert_eq!(prepared.chw.len(), 3 * 64);
    // Left column is red: R = (1 − 0.5) / 0.5 = 1, B = −1; right column blue.
    let at = |c: usize, y: usize, x: usize| prepared.chw[c * 64 + y * 8 + x];
    assert!((at(0, 4, 0) - 1.0).abs() < 1e-6 && (at(2, 4, 0) + 1.0).abs() < 1e-6);
    assert!((at(2, 4, 7) - 1.0).abs() < 1e-6 && (at(0, 4, 7) + 1.0).abs() < 1e-6);
}
