//! Photos in, network inputs out.
//!
//! [`decode`] reads PNG, JPEG, WebP, GIF (first frame) and BMP with the `image` crate, refuses anything
//! above [`MAX_PIXELS`] from the header alone (before a pixel buffer exists), and turns the picture
//! upright per its EXIF orientation. [`preprocess`] follows a model's [`InputSpec`] the way torchvision's
//! `Resize(resize) → CenterCrop(resolution) → ToTensor → Normalize(mean, std)` does.

use std::io::Cursor;

use convscope_zoo::InputSpec;
use image::{DynamicImage, ImageDecoder, ImageReader, RgbImage, imageops::FilterType};

/// The largest picture accepted: 50 megapixels (a 8660 × 5773 photo; phone cameras stay below), which
/// decodes to at most 200 MB of RGBA.
pub const MAX_PIXELS: u64 = 50_000_000;
/// The largest file accepted.
pub const MAX_FILE_BYTES: usize = 100 << 20;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ImageError {
    #[error("this is not an image convscope can read (PNG, JPEG, WebP, GIF or BMP){0}")]
    NotAnImage(String),
    #[error("the image is {width} × {height} pixels; the limit is {limit} megapixels", limit = MAX_PIXELS / 1_000_000)]
    TooLarge { width: u32, height: u32 },
    #[error("the file is {0} MB; the limit is {limit} MB", limit = MAX_FILE_BYTES >> 20)]
    FileTooLarge(usize),
    #[error("the image could not be decoded: {0}")]
    Corrupt(String),
    #[error("the image is empty (0 pixels wide or high)")]
    Empty,
    #[error(
        "the image is {width} × {height} pixels: one side is more than {MAX_ASPECT} times the other, and \
         resizing its short side to a network's input would make it too long to handle"
    )]
    Elongated { width: u32, height: u32 },
}

/// The most elongated picture accepted (a 100:1 strip): resizing the short side of a longer one to a
/// network's input (224–600 pixels) would make a picture of tens of megapixels or more.
pub const MAX_ASPECT: u32 = 100;

/// A decoded photo, upright, 8-bit RGB.
#[derive(Clone, Debug)]
pub struct Photo {
    pub rgb: RgbImage,
    /// The format the bytes were in ("PNG", "JPEG", …).
    pub format: &'static str,
    /// Something the user should know although the photo decoded (a JPEG cut short shows grey where the
    /// file ends, as browsers show it).
    pub warning: Option<String>,
}

/// What a picture's header says, read without decoding a pixel, and checked against the limits
/// [`decode`] applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// "PNG", "JPEG", …
    pub format: &'static str,
    /// The upright size (after the EXIF orientation).
    pub width: u32,
    pub height: u32,
}

impl Header {
    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

impl Photo {
    /// A photo from 8-bit RGBA rows (a browser's `ImageData`), alpha dropped as [`decode`] drops it.
    /// `None` when `rgba` is not `width × height × 4` bytes.
    pub fn from_rgba(
        width: u32,
        height: u32,
        rgba: &[u8],
        format: &'static str,
        warning: Option<String>,
    ) -> Option<Self> {
        let pixels = usize::try_from(u64::from(width) * u64::from(height)).ok()?;
        if width == 0 || height == 0 || rgba.len() != pixels.checked_mul(4)? {
            return None;
        }
        let rgb: Vec<u8> = rgba.chunks_exact(4).flat_map(|p| p.iter().take(3).copied()).collect();
        Some(Self { rgb: RgbImage::from_raw(width, height, rgb)?, format, warning })
    }
}

/// Read `bytes`' header: format and upright size, refused as [`decode`] would refuse them.
pub fn header(bytes: &[u8]) -> Result<Header, ImageError> {
    let (mut decoder, _, format) = checked_decoder(bytes)?;
    let (width, height) = decoder.dimensions();
    let orientation = decoder.orientation().map_err(|e| ImageError::Corrupt(e.to_string()))?;
    let turned = matches!(
        orientation,
        image::metadata::Orientation::Rotate90
            | image::metadata::Orientation::Rotate270
            | image::metadata::Orientation::Rotate90FlipH
            | image::metadata::Orientation::Rotate270FlipH
    );
    let (width, height) = if turned { (height, width) } else { (width, height) };
    Ok(Header { format, width, height })
}

/// Decode `bytes`, checking size limits before decoding and applying EXIF orientation.
pub fn decode(bytes: &[u8]) -> Result<Photo, ImageError> {
    let (mut decoder, format, name) = checked_decoder(bytes)?;
    let orientation = decoder.orientation().map_err(|e| ImageError::Corrupt(e.to_string()))?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| ImageError::Corrupt(e.to_string()))?;
    image.apply_orientation(orientation);
    let warning = (format == image::ImageFormat::Jpeg && !ends_with_jpeg_eoi(bytes))
        .then(|| "the JPEG file ends early (no end-of-image marker): the part that is missing shows grey".to_owned());
    Ok(Photo { rgb: image.to_rgb8(), format: name, warning })
}

/// A decoder for `bytes` whose header passed every limit (file size, format, pixels, aspect).
fn checked_decoder(bytes: &[u8]) -> Result<(impl ImageDecoder + '_, image::ImageFormat, &'static str), ImageError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ImageError::FileTooLarge(bytes.len() >> 20));
    }
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ImageError::NotAnImage(format!(": {e}")))?;
    let Some(format) = reader.format() else {
        if bytes.is_empty() {
            return Err(ImageError::NotAnImage(" (the file is empty)".into()));
        }
        let head: String = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
        return Err(ImageError::NotAnImage(format!(" (it starts with bytes {head})")));
    };
    let name = match format {
        image::ImageFormat::Png => "PNG",
        image::ImageFormat::Jpeg => "JPEG",
        image::ImageFormat::WebP => "WebP",
        image::ImageFormat::Gif => "GIF",
        image::ImageFormat::Bmp => "BMP",
        other => return Err(ImageError::NotAnImage(format!(" ({other:?} is not supported)"))),
    };
    let decoder = reader.into_decoder().map_err(|e| match (e, png_header_size(bytes)) {
        // A 32-bit target (wasm) refuses a lying PNG header while it sets up the decoder, as "Memory
        // limit exceeded", before the size could be checked: say the size, as a 64-bit target does.
        (image::ImageError::Limits(_), Some((width, height))) if u64::from(width) * u64::from(height) > MAX_PIXELS => {
            ImageError::TooLarge { width, height }
        }
        (e, _) => ImageError::Corrupt(e.to_string()),
    })?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(ImageError::Empty);
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ImageError::TooLarge { width, height });
    }
    if width.max(height) / width.min(height) > MAX_ASPECT {
        return Err(ImageError::Elongated { width, height });
    }
    Ok((decoder, format, name))
}

/// The width and height a PNG's header (its first chunk, IHDR) claims.
fn png_header_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let word = |at: usize| Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    (bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.get(12..16) == Some(b"IHDR")).then_some(())?;
    Some((word(16)?, word(20)?))
}

/// Whether a JPEG stream ends with its end-of-image marker (FF D9), padding after it aside.
fn ends_with_jpeg_eoi(bytes: &[u8]) -> bool {
    let end = bytes.iter().rposition(|&b| b != 0 && b != b'\n' && b != b'\r').map_or(0, |i| i + 1);
    bytes.get(..end).is_some_and(|b| b.ends_with(&[0xff, 0xd9]))
}

/// A network input and the picture it shows.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// `[3, resolution, resolution]`, normalized, CHW.
    pub chw: Vec<f32>,
    /// The resized and cropped picture (what the network sees, before normalization).
    pub cropped: RgbImage,
}

/// torchvision's preprocessing: resize the shorter side to `spec.resize` (bilinear, antialiased),
/// centre-crop `spec.resolution`², scale to [0, 1], normalize with the spec's mean and std.
pub fn preprocess(photo: &Photo, spec: &InputSpec) -> Prepared {
    let (w, h) = photo.rgb.dimensions();
    let short = w.min(h).max(1);
    let target = spec.resize.max(spec.resolution) as u64;
    // torchvision: the shorter side becomes `resize`, the longer one int(resize · long / short).
    let scale = |side: u32| ((u64::from(side) * target) / u64::from(short)).max(1) as u32;
    let (rw, rh) = if w <= h { (target as u32, scale(h)) } else { (scale(w), target as u32) };
    let resized = image::imageops::resize(&photo.rgb, rw, rh, FilterType::Triangle);
    let side = spec.resolution as u32;
    // torchvision CenterCrop: top = round((h − crop) / 2), left likewise.
    let left = ((f64::from(rw) - f64::from(side)) / 2.0).round().max(0.0) as u32;
    let top = ((f64::from(rh) - f64::from(side)) / 2.0).round().max(0.0) as u32;
    let cropped = image::imageops::crop_imm(&resized, left, top, side, side).to_image();
    let plane = (side * side) as usize;
    let mut chw = vec![0.0f32; 3 * plane];
    for (i, pixel) in cropped.pixels().enumerate() {
        for (c, (&value, (&mean, &std))) in pixel.0.iter().zip(spec.mean.iter().zip(&spec.std)).enumerate() {
            if let Some(slot) = chw.get_mut(c * plane + i) {
                *slot = (f32::from(value) / 255.0 - mean) / std;
            }
        }
    }
    Prepared { chw, cropped }
}

#[cfg(test)]
mod header_tests {
    use super::{Photo, png_header_size};

    #[test]
    fn rgba_rows_become_an_rgb_photo() {
        let rgba = [1, 2, 3, 255, 4, 5, 6, 0, 7, 8, 9, 128, 10, 11, 12, 255];
        let photo = Photo::from_rgba(2, 2, &rgba, "JPEG", None).expect("2×2");
        assert_eq!(photo.rgb.dimensions(), (2, 2));
        assert_eq!(photo.rgb.as_raw(), &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        assert!(Photo::from_rgba(3, 2, &rgba, "JPEG", None).is_none(), "too few bytes");
        assert!(Photo::from_rgba(0, 4, &[], "JPEG", None).is_none(), "empty");
    }

    /// What a 32-bit target reports for a lying PNG, which its decoder refuses before saying the size.
    #[test]
    fn a_png_header_gives_its_claimed_size() {
        let bomb = include_bytes!("../tests/fixtures/huge_header.png");
        assert_eq!(png_header_size(bomb), Some((100_000, 100_000)));
        assert_eq!(png_header_size(&bomb[..20]), None, "cut inside the header");
        assert_eq!(png_header_size(b"GIF89a\x01\x00\x01\x00"), None);
    }
}
