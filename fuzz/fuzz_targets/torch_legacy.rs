//! Legacy PyTorch checkpoints (magic number, protocol, system info, the pickle, then raw storages).
//! Seeds: the legacy fixtures of crates/weights.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.starts_with(&[0x80]) {
        let _ = convscope_weights::Checkpoint::from_bytes(data);
    }
});
