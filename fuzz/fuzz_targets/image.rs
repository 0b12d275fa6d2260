//! Image decoding (PNG, JPEG, WebP, GIF, BMP, bounded before decoding) and the preprocessing of what
//! decodes (at a small input spec: the resize's cost grows with its output, and the code path is the
//! same at 224²). Seeds: the image fixtures of crates/input.
#![no_main]

use convscope_zoo::InputSpec;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(photo) = convscope_input::decode(data) {
        let spec = InputSpec::imagenet(33, 37);
        let prepared = convscope_input::preprocess(&photo, &spec);
        assert_eq!(prepared.chw.len(), 3 * spec.resolution * spec.resolution);
    }
});
