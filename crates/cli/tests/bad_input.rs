//! The bad-input battery: images, checkpoints and arguments a user may hand the CLI by mistake (or on
//! purpose). Each bad one ends with one specific line on stderr and a non-zero exit — no panic, no hang,
//! memory bounded before anything large is allocated; each odd-but-valid one (16-bit, grey, palette,
//! alpha, CMYK, animated, 1×1) runs. Fixtures are generated here, a few KB each.

#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::disallowed_methods)]

use std::io::{Cursor, Write as _};
use std::path::PathBuf;
use std::process::{Command, Output};

fn convscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_convscope")).args(args).output().expect("the convscope binary runs")
}

fn dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("convscope-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Write `bytes` as `name` in the test's folder.
fn file(name: &str, bytes: &[u8]) -> String {
    let path = dir().join(name);
    std::fs::write(&path, bytes).expect("write");
    path.to_string_lossy().into_owned()
}

fn cli_fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name).to_string_lossy().into_owned()
}

fn input_fixture(name: &str) -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../input/tests/fixtures").join(name))
        .expect("fixture")
}

/// `args` fail with one line on stderr containing `expected`.
fn refused(args: &[&str], expected: &str) {
    let output = convscope(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{args:?} should fail");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: one line, got {stderr}");
    assert!(stderr.contains(expected), "{args:?}: expected {expected:?} in {stderr}");
}

/// A seeded SqueezeNet (small and quick) on `image` prints its guesses.
fn runs_on(image: &str) {
    let output = convscope(&["run", "squeezenet1_1", "--image", image, "--top", "1"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{image}: {stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).contains('%'), "{image}: a guess with its probability");
}

fn refused_image(bytes: &[u8], name: &str, expected: &str) {
    refused(&["run", "squeezenet1_1", "--image", &file(name, bytes)], expected);
}

fn encode(image: &image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format).expect("encode");
    bytes.into_inner()
}

fn gradient(width: u32, height: u32) -> image::RgbImage {
    image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x * 7) as u8, (y * 5) as u8, ((x + y) * 3) as u8]))
}

/// A PNG written by the png crate with the given colour type and depth (palette: 4 colours).
fn png_with(color: png::ColorType, depth: png::BitDepth, data: &[u8], width: u32, height: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, width, height);
        encoder.set_color(color);
        encoder.set_depth(depth);
        if color == png::ColorType::Indexed {
            encoder.set_palette(vec![255, 0, 0, 0, 255, 0, 0, 0, 255, 250, 250, 250]);
        }
        let mut writer = encoder.write_header().expect("header");
        writer.write_image_data(data).expect("data");
    }
    bytes
}

#[test]
fn odd_but_valid_images_run() {
    let (w, h) = (40u32, 30u32);
    // 16-bit RGB, grey, palette and RGBA PNGs.
    let rgb16: Vec<u8> = (0..w * h * 3).flat_map(|i| ((i * 97) as u16).to_be_bytes()).collect();
    runs_on(&file("rgb16.png", &png_with(png::ColorType::Rgb, png::BitDepth::Sixteen, &rgb16, w, h)));
    let grey: Vec<u8> = (0..w * h).map(|i| (i % 251) as u8).collect();
    runs_on(&file("grey.png", &png_with(png::ColorType::Grayscale, png::BitDepth::Eight, &grey, w, h)));
    let indexed: Vec<u8> = (0..w * h).map(|i| (i % 4) as u8).collect();
    runs_on(&file("palette.png", &png_with(png::ColorType::Indexed, png::BitDepth::Eight, &indexed, w, h)));
    let rgba: Vec<u8> = (0..w * h * 4).map(|i| (i % 256) as u8).collect();
    runs_on(&file("alpha.png", &png_with(png::ColorType::Rgba, png::BitDepth::Eight, &rgba, w, h)));
    // CMYK JPEG (written by Pillow 13.0: `Image.new("CMYK", (32, 24))`, quality 90).
    runs_on(&file("cmyk.jpg", &input_fixture("card_cmyk.jpg")));
    // An animated GIF: its first frame.
    let mut gif = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut gif);
        let frames = [gradient(w, h), image::RgbImage::from_pixel(w, h, image::Rgb([9, 9, 9]))]
            .map(|f| image::Frame::new(image::DynamicImage::ImageRgb8(f).to_rgba8()));
        encoder.encode_frames(frames).expect("frames");
    }
    runs_on(&file("animated.gif", &gif));
    // 1×1 pixel.
    runs_on(&file("dot.png", &encode(&image::DynamicImage::ImageRgb8(gradient(1, 1)), image::ImageFormat::Png)));
}

#[test]
fn bad_images_are_refused_with_the_reason() {
    let photo = image::DynamicImage::ImageRgb8(gradient(64, 48));
    refused_image(b"", "empty.png", "the file is empty");
    refused_image(b"just some text, not a picture\n", "notes.png", "not an image convscope can read");
    // A JPEG cut short decodes with grey where the file ends, as browsers show it: it runs, with a warning.
    let jpeg = encode(&photo, image::ImageFormat::Jpeg);
    let cut = file("cut.jpg", &jpeg[..jpeg.len() / 2]);
    let output = convscope(&["run", "squeezenet1_1", "--image", &cut, "--top", "1"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("the JPEG file ends early"), "{stderr}");
    for (format, name) in [
        (image::ImageFormat::Png, "cut.png"),
        (image::ImageFormat::WebP, "cut.webp"),
        (image::ImageFormat::Gif, "cut.gif"),
        (image::ImageFormat::Bmp, "cut.bmp"),
    ] {
        let bytes = encode(&photo, format);
        refused_image(&bytes[..bytes.len() / 2], name, "could not be decoded");
    }
    // Headers that claim more pixels than the file could hold (decompression bombs): refused from the
    // header, before a pixel buffer exists.
    refused_image(&input_fixture("huge_header.png"), "bomb.png", "100000 × 100000 pixels; the limit is 50 megapixels");
    let mut gif = encode(&photo, image::ImageFormat::Gif);
    gif[6..10].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]); // logical screen 65535 × 65535
    refused_image(&gif, "bomb.gif", "65535 × 65535 pixels; the limit is 50 megapixels");
    let mut bmp = encode(&photo, image::ImageFormat::Bmp);
    bmp[18..22].copy_from_slice(&100_000u32.to_le_bytes()); // width
    bmp[22..26].copy_from_slice(&100_000u32.to_le_bytes()); // height
    // (the BMP decoder refuses it itself, from the header: "Image too large (one of (100000, 100000) > soft
    // limit of 65535)")
    refused_image(&bmp, "bomb.bmp", "(100000, 100000)");
    // A sliver: resizing its short side to the model's input would make it gigapixels long.
    let sliver = encode(&image::DynamicImage::ImageRgb8(gradient(1, 100_000)), image::ImageFormat::Png);
    refused_image(&sliver, "sliver.png", "1 × 100000 pixels");
    // Above the file size limit: refused from its length, before it is read.
    let big = dir().join("big.png");
    std::fs::File::create(&big).and_then(|f| f.set_len(101 << 20)).expect("sparse file");
    refused(&["run", "squeezenet1_1", "--image", &big.to_string_lossy()], "the limit is 100 MB");
}

/// A safetensors file holding `tensors` (name, dtype, shape, data offsets) over `data`.
fn safetensors(tensors: &[(&str, &str, &[usize], [usize; 2])], data: &[u8]) -> Vec<u8> {
    let entries: Vec<String> = tensors
        .iter()
        .map(|(name, dtype, shape, [a, b])| {
            format!(r#""{name}":{{"dtype":"{dtype}","shape":{shape:?},"data_offsets":[{a},{b}]}}"#)
        })
        .collect();
    let header = format!("{{{}}}", entries.join(","));
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    bytes
}

fn zip_with(members: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in members {
        writer.start_file(*name, zip::write::SimpleFileOptions::default().compression_method(method)).expect("member");
        writer.write_all(bytes).expect("write");
    }
    writer.finish().expect("zip").into_inner()
}

#[test]
fn bad_checkpoints_are_refused_with_the_reason() {
    let coffee = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/samples/coffee.png");
    let coffee = if coffee.exists() {
        coffee.to_string_lossy().into_owned()
    } else {
        file("photo.png", &encode(&image::DynamicImage::ImageRgb8(gradient(64, 48)), image::ImageFormat::Png))
    };
    let with_weights = |weights: &str, expected: &str| {
        refused(&["run", "squeezenet1_1", "--weights", weights, "--image", &coffee], expected);
    };
    with_weights(&file("empty.safetensors", b""), "the file is empty");
    let zip = std::fs::read(cli_fixture("squeezenet1_1_f16.pt")).expect("zip");
    with_weights(&file("cut.pt", &zip[..zip.len() / 3]), "zip");
    // A checkpoint whose first tensor's member inflates far beyond the file (a zip bomb): refused from
    // its declared size, before anything is inflated.
    let mut archive = zip::ZipArchive::new(Cursor::new(zip.clone())).expect("fixture zip");
    let mut members = Vec::new();
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).expect("member");
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut member, &mut bytes).expect("read");
        members.push((member.name().expect("a member name").into_owned(), bytes));
    }
    let first_tensor = members.iter().position(|(n, _)| n.contains("/data/")).expect("a tensor member");
    members[first_tensor].1 = vec![0u8; 64 << 20];
    let named: Vec<(&str, &[u8])> = members.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    let bomb = zip_with(&named, zip::CompressionMethod::Deflated);
    assert!(bomb.len() < zip.len() + (1 << 20), "64 MB of zeros take a few KB in the file");
    with_weights(&file("bomb.pt", &bomb), "above the limit");
    // A legacy pickle naming a global outside the allow-list: refused, never called.
    let mut evil = b"\x80\x02cposix\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03.".to_vec();
    let mut legacy = vec![0x80, 0x02, 0x8a, 0x0a];
    legacy.extend([0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);
    legacy.extend(b".");
    legacy.append(&mut evil);
    with_weights(&file("evil.pth", &legacy), "posix.system");
    // A pickle nesting lists deeper than the reader follows.
    let mut deep = b"\x80\x02".to_vec();
    deep.extend(std::iter::repeat_n(b']', 200_000));
    deep.extend(std::iter::repeat_n(b'a', 199_999));
    deep.push(b'.');
    let deep_zip = zip_with(&[("archive/data.pkl", &deep)], zip::CompressionMethod::Stored);
    with_weights(&file("deep.pt", &deep_zip), "deep");
    // safetensors: overlapping and out-of-range offsets, a header longer than the file, a wrong dtype.
    let data = vec![0u8; 64];
    with_weights(
        &file("overlap.safetensors", &safetensors(&[("a", "F32", &[8], [0, 32]), ("b", "F32", &[8], [16, 48])], &data)),
        "overlap",
    );
    with_weights(
        &file("outside.safetensors", &safetensors(&[("a", "F32", &[32], [0, 128])], &data)),
        "do not end where the file ends",
    );
    let mut long_header = safetensors(&[("a", "F32", &[4], [0, 16])], &data);
    long_header[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    with_weights(&file("long_header.safetensors", &long_header), "header");
    // A tensor stored as integers where the model needs floats, and a NaN in the weights (a checkpoint
    // that otherwise binds: MobileNet V1 0.25, f16).
    let mobilenet = std::fs::read(cli_fixture("mobilenet_v1_025_f16.safetensors")).expect("fixture");
    let header_end = 8 + u64::from_le_bytes(mobilenet[..8].try_into().expect("8 bytes")) as usize;
    let at =
        |needle: &[u8]| mobilenet[..header_end].windows(needle.len()).position(|w| w == needle).expect("in header");
    let mut integers = mobilenet.clone();
    let dtype = at(b"\"F16\"");
    integers[dtype + 1] = b'I';
    let mobilenet_with = |name: &str, bytes: &[u8], expected: &str| {
        let weights = file(name, bytes);
        refused(&["run", "mobilenet_v1", "--width", "0.25", "--weights", &weights, "--image", &coffee], expected);
    };
    mobilenet_with("integers.safetensors", &integers, "1 of the wrong type");
    let header: serde_json::Value = serde_json::from_slice(&mobilenet[8..header_end]).expect("header JSON");
    let start = header
        .as_object()
        .and_then(|h| h.values().find(|t| t["dtype"] == "F16"))
        .and_then(|t| t["data_offsets"][0].as_u64())
        .expect("an f16 tensor") as usize;
    let mut nan = mobilenet.clone();
    nan[header_end + start..header_end + start + 2].copy_from_slice(&[0x00, 0x7e]); // f16 NaN
    mobilenet_with("nan.safetensors", &nan, "holding NaN or infinity");
}

#[test]
fn bad_arguments_are_refused_with_the_reason() {
    let photo = file("args.png", &encode(&image::DynamicImage::ImageRgb8(gradient(64, 48)), image::ImageFormat::Png));
    let run = |extra: &[&str], expected: &str| {
        let mut args = vec!["run", "mobilenet_v2", "--image", photo.as_str()];
        args.extend(extra);
        refused(&args, expected);
    };
    refused(&["run", "no_such_net", "--image", &photo], "no model named");
    run(&["--width", "0"], "width");
    run(&["--width", "-1"], "width");
    run(&["--width", "1e9"], "width");
    run(&["--resolution", "0"], "resolution");
    run(&["--resolution", "100000"], "resolution");
    refused(&["table", "shufflenet_v1", "--groups", "5"], "groups");
    refused(&["shuffle", "--channels", "10", "--groups", "3", "--format", "json"], "3");
    // .npy inputs of the wrong shape and dtype.
    refused(&["run", "squeezenet1_1", "--input", &cli_fixture("input_48.npy")], "takes [1, 3, 224, 224]");
    let mut f64_npy = b"\x93NUMPY\x01\x00".to_vec();
    let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3, 48, 48), }";
    let header = format!("{header:<117}\n");
    f64_npy.extend((header.len() as u16).to_le_bytes());
    f64_npy.extend(header.as_bytes());
    f64_npy.extend(vec![0u8; 3 * 48 * 48 * 8]);
    refused(&["run", "squeezenet1_1", "--resolution", "48", "--input", &file("f64.npy", &f64_npy)], "<f8");
}
