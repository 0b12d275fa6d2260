//! The allow-listed pickle reader on its own: any byte stream, the storage persistent ids of both
//! PyTorch formats. Seeds: the pickles inside the checkpoint fixtures.
#![no_main]

use convscope_weights::pickle::{StoragePids, read};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = read(data, &mut StoragePids);
});
