/// Everything that can go wrong between asking for a GPU and reading a result back.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error("no GPU adapter: {0}")]
    NoAdapter(String),

    #[error("the adapter cannot run compute shaders: {0}")]
    Unavailable(#[from] crate::adapter::ComputeUnavailable),

    #[error("requesting a device from adapter {adapter:?} failed: {reason}")]
    RequestDevice { adapter: String, reason: String },

    #[error("{len} elements do not fit one storage buffer binding ({max_bytes} bytes max on this device)")]
    TooLarge { len: usize, max_bytes: u64 },

    #[error("mapping the readback buffer failed: {0}")]
    Readback(String),

    #[error("the GPU device was lost: {0}")]
    DeviceLost(String),

    #[error("{0}")]
    Kernel(String),
}
