//! Tensors as read from a checkpoint: a shape and values, floats widened to f32.

/// Element types a checkpoint may store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F32,
    F16,
    BF16,
    F64,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl DType {
    pub fn size(self) -> usize {
        match self {
            Self::F64 | Self::I64 => 8,
            Self::F32 | Self::I32 => 4,
            Self::F16 | Self::BF16 | Self::I16 => 2,
            Self::I8 | Self::U8 | Self::Bool => 1,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, Self::F32 | Self::F16 | Self::BF16 | Self::F64)
    }
}

/// Values of one tensor: floating point widened to f32, integers (index buffers, counters) to i64.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct TensorData {
    pub shape: Vec<usize>,
    /// The element type in the file (before widening).
    pub stored: DType,
    pub values: Values,
}

impl TensorData {
    pub fn f32(shape: Vec<usize>, values: Vec<f32>) -> Self {
        Self { shape, stored: DType::F32, values: Values::F32(values) }
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.values {
            Values::F32(v) => Some(v),
            Values::I64(_) => None,
        }
    }

    pub fn as_i64(&self) -> Option<&[i64]> {
        match &self.values {
            Values::I64(v) => Some(v),
            Values::F32(_) => None,
        }
    }
}

/// Decode `count` little-endian elements of `dtype` from `bytes`, reading element `i` at `index(i)`.
pub(crate) fn decode(dtype: DType, bytes: &[u8], indices: impl Iterator<Item = usize>) -> Option<Values> {
    let size = dtype.size();
    let at = |i: usize| -> Option<&[u8]> { bytes.get(i.checked_mul(size)?..i.checked_mul(size)?.checked_add(size)?) };
    fn arr<const N: usize>(b: &[u8]) -> Option<[u8; N]> {
        b.try_into().ok()
    }
    if dtype.is_float() {
        let mut out = Vec::new();
        for i in indices {
            let b = at(i)?;
            out.push(match dtype {
                DType::F32 => f32::from_le_bytes(arr(b)?),
                DType::F16 => half::f16::from_le_bytes(arr(b)?).to_f32(),
                DType::BF16 => half::bf16::from_le_bytes(arr(b)?).to_f32(),
                _ => f64::from_le_bytes(arr(b)?) as f32,
            });
        }
        Some(Values::F32(out))
    } else {
        let mut out = Vec::new();
        for i in indices {
            let b = at(i)?;
            out.push(match dtype {
                DType::I64 => i64::from_le_bytes(arr(b)?),
                DType::I32 => i64::from(i32::from_le_bytes(arr(b)?)),
                DType::I16 => i64::from(i16::from_le_bytes(arr(b)?)),
                DType::I8 => i64::from(i8::from_le_bytes(arr(b)?)),
                _ => i64::from(*b.first()?),
            });
        }
        Some(Values::I64(out))
    }
}
