//! PyTorch checkpoints: the zip format (`torch.save` since 1.6) and the legacy format (magic number,
//! pickled header, the pickled object, storage keys, raw storages).

use std::collections::HashMap;
use std::io::{Cursor, Read};

use crate::error::{Result, WeightsError};
use crate::pickle::{self, StoragePids, TensorRef, Value};
use crate::tensor::{DType, TensorData, decode};

/// `torch.serialization.MAGIC_NUMBER` (0x1950a86a20f9469cfc6c) as LONG1 bytes: a legacy checkpoint's first value.
const LEGACY_MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

/// Read a zip-format checkpoint already in memory.
pub fn read_zip(bytes: &[u8]) -> Result<Vec<(String, TensorData)>> {
    let zip_err = |e: zip::result::ZipError| WeightsError::Malformed(format!("zip archive: {e}"));
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(zip_err)?;
    let pkl_name = archive
        .file_names()
        .filter_map(|n| n.ok())
        .find(|n| n == "data.pkl" || n.ends_with("/data.pkl"))
        .map(|n| n.into_owned())
        .ok_or_else(|| WeightsError::Malformed("a zip archive without data.pkl: not a PyTorch checkpoint".into()))?;
    let prefix = pkl_name.trim_end_matches("data.pkl").to_owned();
    let mut read_entry = |name: &str| -> Result<Vec<u8>> {
        let mut file = archive.by_name(name).map_err(|e| WeightsError::Malformed(format!("{name}: {e}")))?;
        let size = file.size();
        if size > bytes.len() as u64 {
            return Err(WeightsError::TooLarge { what: name.to_owned(), bytes: size, limit: bytes.len() as u64 });
        }
        let mut out = Vec::with_capacity(size as usize);
        file.read_to_end(&mut out).map_err(|e| WeightsError::Malformed(format!("{name}: {e}")))?;
        Ok(out)
    };
    let pkl = read_entry(&pkl_name)?;
    let (value, _) = pickle::read(&pkl, &mut StoragePids)?;
    let refs = state_dict(value)?;
    let mut storages: HashMap<String, Vec<u8>> = HashMap::new();
    let mut out = Vec::with_capacity(refs.len());
    for (name, tensor) in refs {
        if !storages.contains_key(&tensor.storage_key) {
            let data = read_entry(&format!("{prefix}data/{}", tensor.storage_key))?;
            storages.insert(tensor.storage_key.clone(), data);
        }
        let storage = storages.get(&tensor.storage_key).map(Vec::as_slice).unwrap_or_default();
        out.push((name.clone(), materialize(&name, &tensor, storage)?));
    }
    Ok(out)
}

/// Read a legacy-format checkpoint (`torch.save(..., _use_new_zipfile_serialization=False)`).
pub fn read_legacy(bytes: &[u8]) -> Result<Vec<(String, TensorData)>> {
    let mut pos = 0;
    let mut next = |pids: &mut StoragePids| -> Result<Value> {
        let rest = bytes.get(pos..).ok_or(WeightsError::Truncated("the legacy checkpoint"))?;
        let (value, used) = pickle::read(rest, pids)?;
        pos += used;
        Ok(value)
    };
    let mut pids = StoragePids;
    if next(&mut pids)? != Value::BigInt(LEGACY_MAGIC.to_vec()) {
        return Err(WeightsError::UnknownFormat("a pickle without PyTorch's magic number".into()));
    }
    let _protocol = next(&mut pids)?;
    let _sys_info = next(&mut pids)?;
    let refs = state_dict(next(&mut pids)?)?;
    let Value::List(keys) = next(&mut pids)? else {
        return Err(WeightsError::Malformed("legacy checkpoint: the storage key list is missing".into()));
    };
    // After the keys, each storage: an 8-byte little-endian element count, then its raw bytes.
    let element_sizes: HashMap<&str, usize> =
        refs.iter().map(|(_, t)| (t.storage_key.as_str(), t.dtype.size())).collect();
    let mut storages: HashMap<String, &[u8]> = HashMap::new();
    for key in keys {
        let key = match key {
            Value::Str(s) => s,
            Value::Int(i) => i.to_string(),
            _ => return Err(WeightsError::Malformed("legacy checkpoint: a storage key of the wrong type".into())),
        };
        let count_bytes = bytes.get(pos..pos + 8).ok_or(WeightsError::Truncated("the legacy checkpoint"))?;
        let mut count = [0u8; 8];
        count.copy_from_slice(count_bytes);
        let count = u64::from_le_bytes(count);
        pos += 8;
        // A storage no tensor uses still has to be skipped; its element size is then unknown unless
        // every storage in the file shares one (the usual float32 checkpoint), so refuse that case.
        let size = element_sizes.get(key.as_str()).copied().ok_or_else(|| {
            WeightsError::Malformed(format!("legacy checkpoint: storage {key} is not used by any tensor"))
        })? as u64;
        let len =
            count.checked_mul(size).filter(|&n| n <= (bytes.len() - pos.min(bytes.len())) as u64).ok_or(
                WeightsError::Truncated("a storage of the legacy checkpoint (its size is larger than the file)"),
            )? as usize;
        let data = bytes.get(pos..pos + len).ok_or(WeightsError::Truncated("the legacy checkpoint"))?;
        pos += len;
        storages.insert(key, data);
    }
    refs.into_iter()
        .map(|(name, tensor)| {
            let storage = storages.get(&tensor.storage_key).ok_or_else(|| WeightsError::Tensor {
                name: name.clone(),
                message: format!("its storage {} is missing from the file", tensor.storage_key),
            })?;
            Ok((name.clone(), materialize(&name, &tensor, storage)?))
        })
        .collect()
}

/// The `(name, tensor)` entries of a checkpoint: the top-level dict of tensors, or the one under
/// `state_dict`, `model` or `module`; a `module.` prefix on every key (DataParallel) is removed.
fn state_dict(value: Value) -> Result<Vec<(String, TensorRef)>> {
    let Value::Dict(entries) = value else {
        return Err(WeightsError::Refused(
            "the checkpoint is not a dict of tensors (a whole pickled model is never loaded: save its state_dict())"
                .into(),
        ));
    };
    let has_tensors = entries.iter().any(|(_, v)| matches!(v, Value::Tensor(_)));
    if !has_tensors {
        for wanted in ["state_dict", "model", "module", "model_state_dict"] {
            if let Some((_, nested)) = entries.iter().find(|(k, _)| *k == Value::Str(wanted.to_owned())) {
                return state_dict(nested.clone());
            }
        }
        return Err(WeightsError::Malformed("no tensors in the checkpoint's dict".into()));
    }
    let mut out = Vec::new();
    for (key, value) in entries {
        let (Value::Str(name), Value::Tensor(tensor)) = (key, value) else { continue };
        out.push((name, tensor));
    }
    if !out.is_empty() && out.iter().all(|(n, _)| n.starts_with("module.")) {
        for (name, _) in &mut out {
            *name = name.trim_start_matches("module.").to_owned();
        }
    }
    Ok(out)
}

/// Copy a (possibly strided) view out of its storage, checking every index against the storage.
fn materialize(name: &str, t: &TensorRef, storage: &[u8]) -> Result<TensorData> {
    let err = |message: String| WeightsError::Tensor { name: name.to_owned(), message };
    if t.shape.len() != t.stride.len() {
        return Err(err("shape and stride differ in rank".into()));
    }
    let numel =
        t.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(|| err("size overflows".into()))?;
    let available = storage.len() / t.dtype.size();
    if available < t.storage_numel {
        return Err(err(format!("its storage holds {available} elements, the file says {}", t.storage_numel)));
    }
    if numel > 0 {
        let last = t
            .shape
            .iter()
            .zip(&t.stride)
            .try_fold(t.offset, |acc, (&d, &s)| acc.checked_add((d - 1).checked_mul(s)?))
            .ok_or_else(|| err("index overflows".into()))?;
        if last >= available {
            return Err(err(format!("it reads element {last} of a storage of {available}")));
        }
    }
    let indices = StridedIndices::new(&t.shape, &t.stride, t.offset, numel);
    let values = decode(t.dtype, storage, indices).ok_or_else(|| err("its data is out of the storage".into()))?;
    Ok(TensorData { shape: t.shape.clone(), stored: t.dtype, values })
}

/// Storage indices of a strided view in row-major order.
struct StridedIndices<'a> {
    shape: &'a [usize],
    stride: &'a [usize],
    offset: usize,
    counter: Vec<usize>,
    remaining: usize,
}

impl<'a> StridedIndices<'a> {
    fn new(shape: &'a [usize], stride: &'a [usize], offset: usize, numel: usize) -> Self {
        Self { shape, stride, offset, counter: vec![0; shape.len()], remaining: numel }
    }
}

impl Iterator for StridedIndices<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let index = self.offset + self.counter.iter().zip(self.stride).map(|(c, s)| c * s).sum::<usize>();
        for (c, &d) in self.counter.iter_mut().zip(self.shape).rev() {
            *c += 1;
            if *c < d {
                break;
            }
            *c = 0;
        }
        Some(index)
    }
}

/// Whether `bytes` start like a legacy checkpoint: protocol 2 and PyTorch's magic number as LONG1.
pub fn looks_legacy(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x80, 0x02, 0x8a, 0x0a]) && bytes.get(4..14) == Some(&LEGACY_MAGIC[..])
}

/// Whether the dtype of a storage is one tensors may be read from.
pub fn dtype_name(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "float32",
        DType::F16 => "float16",
        DType::BF16 => "bfloat16",
        DType::F64 => "float64",
        DType::I64 => "int64",
        DType::I32 => "int32",
        DType::I16 => "int16",
        DType::I8 => "int8",
        DType::U8 => "uint8",
        DType::Bool => "bool",
    }
}
