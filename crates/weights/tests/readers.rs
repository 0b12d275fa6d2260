//! Every reader against the same tensors, written by PyTorch 2.15.0 (tools/weights_fixtures.py), and
//! every malformed or hostile file refused with a reason.

#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;

use convscope_weights::{Checkpoint, DType, Format, WeightsError};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[derive(serde::Deserialize)]
struct Expected {
    shape: Vec<usize>,
    values: Vec<f64>,
}

fn expected() -> std::collections::BTreeMap<String, Expected> {
    serde_json::from_slice(&fixture("expected.json")).expect("expected.json")
}

fn check(checkpoint: &Checkpoint) {
    let expected = expected();
    assert_eq!(checkpoint.tensors.len(), expected.len(), "{:?}", checkpoint.format);
    for (name, want) in &expected {
        let got = checkpoint.get(name).unwrap_or_else(|| panic!("{name} missing ({:?})", checkpoint.format));
        assert_eq!(got.shape, want.shape, "{name}");
        // Every value is an exact f32 (f16/bf16 widen exactly) printed by Python as a double: rounding the
        // parsed double back to f32 recovers it, so the comparison is bit for bit.
        match (got.as_f32(), got.as_i64()) {
            (Some(v), _) => {
                let want: Vec<f32> = want.values.iter().map(|&x| x as f32).collect();
                assert_eq!(v, want.as_slice(), "{name} ({:?})", checkpoint.format);
            }
            (_, Some(v)) => {
                let want: Vec<i64> = want.values.iter().map(|&x| x as i64).collect();
                assert_eq!(v, want.as_slice(), "{name} ({:?})", checkpoint.format);
            }
            _ => unreachable!(),
        }
    }
}

#[test]
fn zip_legacy_and_safetensors_read_the_same_tensors() {
    for (file, format) in [
        ("tiny_zip.pt", Format::TorchZip),
        ("tiny_legacy.pth", Format::TorchLegacy),
        ("tiny.safetensors", Format::Safetensors),
    ] {
        let checkpoint = Checkpoint::from_bytes(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(checkpoint.format, format);
        check(&checkpoint);
    }
    let zip = Checkpoint::from_bytes(&fixture("tiny_zip.pt")).expect("zip");
    assert_eq!(zip.get("half").expect("half").stored, DType::F16);
    assert_eq!(zip.get("bf16").expect("bf16").stored, DType::BF16);
}

#[test]
fn a_nested_state_dict_with_dataparallel_prefixes_is_found() {
    let checkpoint = Checkpoint::from_bytes(&fixture("nested_module.pt")).expect("nested");
    check(&checkpoint);
}

#[test]
fn a_pickle_naming_os_system_is_refused_without_running_it() {
    let err = Checkpoint::from_bytes(&fixture("hostile.pt")).expect_err("hostile");
    let WeightsError::Refused(message) = &err else { panic!("{err}") };
    assert!(message.contains("posix.system") || message.contains("os.system"), "{message}");
    assert!(err.to_string().contains("not on the allow-list"), "{err}");
}

#[test]
fn truncated_files_are_reported_not_panicked() {
    for file in ["tiny_zip.pt", "tiny_legacy.pth", "tiny.safetensors"] {
        let bytes = fixture(file);
        for cut in [1, 9, 20, 64, bytes.len() / 2, bytes.len() - 1] {
            let result = Checkpoint::from_bytes(&bytes[..cut]);
            assert!(result.is_err(), "{file} cut at {cut} read as {:?}", result.map(|c| c.format));
        }
    }
    // A safetensors file cut after its first '{' says it is truncated, in the header or in the data.
    let bytes = fixture("tiny.safetensors");
    let header_end = 8 + u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    for cut in [9, 20, header_end - 1] {
        let err = Checkpoint::from_bytes(&bytes[..cut]).expect_err("cut");
        assert_eq!(err, WeightsError::Truncated("the safetensors header"), "tiny.safetensors cut at {cut}");
    }
    for cut in [header_end, bytes.len() - 1] {
        let err = Checkpoint::from_bytes(&bytes[..cut]).expect_err("cut").to_string();
        assert!(err.contains("truncated"), "tiny.safetensors cut at {cut}: {err}");
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    // Flip every byte of the legacy file in turn: each result is a value or an error, never a panic.
    let bytes = fixture("tiny_legacy.pth");
    for i in 0..bytes.len() {
        let mut copy = bytes.clone();
        copy[i] ^= 0xa5;
        let _ = Checkpoint::from_bytes(&copy);
    }
}

#[test]
fn unknown_files_say_what_they_start_with() {
    let err = Checkpoint::from_bytes(b"GIF89a not weights").expect_err("not a checkpoint");
    assert!(matches!(err, WeightsError::UnknownFormat(_)), "{err}");
    assert!(err.to_string().contains("474946383961"), "{err}");
    let err = Checkpoint::from_bytes(&[0x80, 0x02, b'K', 1, b'.']).expect_err("bare pickle");
    assert!(err.to_string().contains("magic number"), "{err}");
}

#[test]
fn a_legacy_file_whose_storage_claims_more_than_the_file_holds_is_truncated() {
    // Set the first storage's 8-byte element count (after the key list) to 2^40.
    let bytes = fixture("tiny_legacy.pth");
    let checkpoint = Checkpoint::from_bytes(&bytes).expect("valid");
    assert_eq!(checkpoint.format, Format::TorchLegacy);
    // The raw data is the file's tail; the count of the first storage sits just before it. Find it by
    // scanning for a little-endian count equal to conv.weight's 54 elements followed by its first float.
    let first = checkpoint.get("conv.weight").and_then(|t| t.as_f32()).expect("conv")[0].to_le_bytes();
    let at = (0..bytes.len() - 12)
        .find(|&i| bytes[i..i + 8] == 54u64.to_le_bytes() && bytes[i + 8..i + 12] == first)
        .expect("count of the first storage");
    let mut lying = bytes.clone();
    lying[at..at + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let err = Checkpoint::from_bytes(&lying).expect_err("lying size");
    assert!(matches!(err, WeightsError::Truncated(_)), "{err}");
}
