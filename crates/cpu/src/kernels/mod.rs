//! Kernels, one op family per file. Plain CHW `f32` slices in and out.

pub mod channels;
pub mod conv;
#[cfg(target_arch = "x86_64")]
pub mod depthwise_chw;
#[cfg(target_arch = "x86_64")]
mod depthwise_chw_avx2;
#[cfg(target_arch = "x86_64")]
mod depthwise_chw_avx512;
pub mod depthwise_hwc;
#[cfg(target_arch = "x86_64")]
mod depthwise_hwc_avx2;
#[cfg(target_arch = "x86_64")]
mod depthwise_hwc_avx512;
pub mod direct;
pub mod elementwise;
pub mod gemm;
#[cfg(target_arch = "x86_64")]
pub mod pointwise_hwc;
#[cfg(target_arch = "x86_64")]
mod pointwise_hwc_avx2;
#[cfg(target_arch = "x86_64")]
mod pointwise_hwc_avx512;
pub mod pool;
#[cfg(target_arch = "x86_64")]
pub mod stem;
#[cfg(target_arch = "x86_64")]
mod stem_avx2;
#[cfg(target_arch = "x86_64")]
mod stem_avx512;
