//! PyTorch zip checkpoints (`torch.save` since 1.6): the zip reader, the bounded member reads and the
//! pickle inside. Seeds: the zip fixtures of crates/weights and crates/cli.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"PK") {
        let _ = convscope_weights::Checkpoint::from_bytes(data);
    }
});
