//! Why a checkpoint could not be read or bound.

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum WeightsError {
    #[error("{0} ends early: the file is truncated")]
    Truncated(&'static str),
    #[error("malformed checkpoint: {0}")]
    Malformed(String),
    #[error("refused: {0}")]
    Refused(String),
    #[error("{what} of {bytes} bytes is above the limit of {limit} bytes")]
    TooLarge { what: String, bytes: u64, limit: u64 },
    #[error("not a checkpoint convscope reads (safetensors, PyTorch zip or legacy .pth): {0}")]
    UnknownFormat(String),
    #[error("tensor {name}: {message}")]
    Tensor { name: String, message: String },
}

pub type Result<T> = std::result::Result<T, WeightsError>;
