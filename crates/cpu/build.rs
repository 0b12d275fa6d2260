//! Tells the kernel tests whether the machine building them has AVX-512 (`cfg(host_avx512)`): there the
//! AVX-512 kernels are tested; elsewhere their tests are reported as ignored, never as a silent pass.
#![allow(clippy::print_stdout)] // a build script speaks to cargo on stdout

fn main() {
    println!("cargo::rustc-check-cfg=cfg(host_avx512)");
    println!("cargo::rerun-if-changed=build.rs");
    #[cfg(target_arch = "x86_64")]
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("x86_64") && std::is_x86_feature_detected!("avx512f") {
        println!("cargo::rustc-cfg=host_avx512");
    }
}
