//! Weights for the zoo's graphs: checkpoint readers, binding by name, seeded initialization.
//!
//! - [`Checkpoint::from_bytes`] reads safetensors, PyTorch zip checkpoints and legacy `.pth` files from
//!   memory (the browser hands over bytes). Pickles go through [`pickle`], an allow-listed reader that
//!   builds values and never calls anything. Every size is checked against the bytes actually present
//!   before anything is allocated, and floats of any width arrive as f32.
//! - [`bind`] matches a checkpoint to a graph like PyTorch's `load_state_dict(strict=True)`: missing,
//!   unexpected and mis-shaped keys, all reported.
//! - [`synthetic`] makes the seeded He initialization that untrained models run with; the same
//!   generator in `tools/parity.py` lets PyTorch run on identical weights.

mod error;
pub mod pickle;
mod tensor;
pub mod torch;

pub mod bind;
pub mod convert;
pub mod synthetic;

pub use error::{Result, WeightsError};
pub use tensor::{DType, TensorData, Values};

/// Files above this size are refused before they are read (the largest zoo model, EfficientNet-B7, is
/// 267 MB in f32).
pub const MAX_CHECKPOINT_BYTES: u64 = 1 << 30;

/// The container a checkpoint came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Safetensors,
    TorchZip,
    TorchLegacy,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Self::Safetensors => "safetensors",
            Self::TorchZip => "PyTorch zip checkpoint",
            Self::TorchLegacy => "PyTorch legacy checkpoint",
        }
    }
}

/// Named tensors read from a file, in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    pub format: Format,
    pub tensors: Vec<(String, TensorData)>,
}

impl Checkpoint {
    /// Read any supported checkpoint, recognised by its first bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() as u64 > MAX_CHECKPOINT_BYTES {
            return Err(WeightsError::TooLarge {
                what: "the checkpoint".into(),
                bytes: bytes.len() as u64,
                limit: MAX_CHECKPOINT_BYTES,
            });
        }
        let (format, tensors) = if bytes.starts_with(b"PK\x03\x04") {
            (Format::TorchZip, torch::read_zip(bytes)?)
        } else if torch::looks_legacy(bytes) {
            (Format::TorchLegacy, torch::read_legacy(bytes)?)
        } else if looks_safetensors(bytes) {
            (Format::Safetensors, read_safetensors(bytes)?)
        } else if bytes.first() == Some(&0x80) {
            return Err(WeightsError::UnknownFormat(
                "a pickle without PyTorch's magic number (only torch.save files are read)".into(),
            ));
        } else if bytes.is_empty() {
            return Err(WeightsError::UnknownFormat("the file is empty".into()));
        } else {
            let head: String = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
            return Err(WeightsError::UnknownFormat(format!("the file starts with bytes {head}")));
        };
        Ok(Self { format, tensors })
    }

    pub fn get(&self, name: &str) -> Option<&TensorData> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// Names and shapes of the tensors a model can use (PyTorch's `num_batches_tracked` counters left out),
    /// for matching against what graphs need ([`bind::needs`]).
    pub fn shapes(&self) -> std::collections::BTreeMap<String, Vec<usize>> {
        self.tensors.iter().filter(|(n, _)| !bind::is_counter(n)).map(|(n, t)| (n.clone(), t.shape.clone())).collect()
    }

    /// Parameters in the checkpoint (float tensors), for messages.
    pub fn parameter_count(&self) -> usize {
        self.tensors.iter().filter(|(_, t)| t.as_f32().is_some()).map(|(_, t)| t.numel()).sum()
    }
}

/// safetensors: an 8-byte little-endian header length, then a JSON header starting with `{`. A file cut
/// inside its header still looks like one, so that it is reported as truncated rather than as unknown.
fn looks_safetensors(bytes: &[u8]) -> bool {
    safetensors_header_len(bytes).is_some_and(|len| len > 1) && bytes.get(8) == Some(&b'{')
}

fn safetensors_header_len(bytes: &[u8]) -> Option<u64> {
    bytes.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()).map(u64::from_le_bytes)
}

fn read_safetensors(bytes: &[u8]) -> Result<Vec<(String, TensorData)>> {
    use safetensors::Dtype as S;
    if safetensors_header_len(bytes).is_some_and(|len| len > bytes.len() as u64 - 8) {
        return Err(WeightsError::Truncated("the safetensors header"));
    }
    let file = safetensors::SafeTensors::deserialize(bytes).map_err(|e| match e {
        safetensors::SafeTensorError::MetadataIncompleteBuffer => WeightsError::Malformed(
            "safetensors: the tensors the header lists do not end where the file ends (truncated, or bytes appended)"
                .into(),
        ),
        e => WeightsError::Malformed(format!("safetensors: {e}")),
    })?;
    // Header order is not file order; sort by name for a stable listing.
    let mut names: Vec<String> = file.names().into_iter().map(str::to_owned).collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let view = file.tensor(&name).map_err(|e| WeightsError::Malformed(format!("safetensors {name}: {e}")))?;
            let dtype = match view.dtype() {
                S::F32 => DType::F32,
                S::F16 => DType::F16,
                S::BF16 => DType::BF16,
                S::F64 => DType::F64,
                S::I64 => DType::I64,
                S::I32 => DType::I32,
                S::I16 => DType::I16,
                S::I8 => DType::I8,
                S::U8 => DType::U8,
                S::BOOL => DType::Bool,
                other => {
                    return Err(WeightsError::Tensor { name, message: format!("unsupported element type {other:?}") });
                }
            };
            let shape = view.shape().to_vec();
            let numel: usize = shape.iter().product();
            let values = tensor::decode(dtype, view.data(), 0..numel).ok_or_else(|| WeightsError::Tensor {
                name: name.clone(),
                message: "data shorter than its shape".into(),
            })?;
            Ok((name, TensorData { shape, stored: dtype, values }))
        })
        .collect()
}
