//! safetensors files: read, and bound to every zoo model they claim to fit. Seeds: the safetensors
//! fixtures of crates/weights and crates/cli.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // Force the safetensors path: an 8-byte header length and a JSON header starting with '{'.
    if data.len() >= 9 && data[8] == b'{' {
        let _ = convscope_weights::Checkpoint::from_bytes(data);
    }
});
