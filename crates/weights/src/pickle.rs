//! A pickle reader for PyTorch checkpoints that never executes anything.
//!
//! Python's unpickler runs whatever the stream names (`GLOBAL` + `REDUCE` is a function call). This one
//! is a stack machine over the opcodes `torch.save` emits (protocols 2–5) that builds plain values, and
//! it resolves only an allow-list of globals: `collections.OrderedDict`, the tensor rebuild functions and
//! the storage types. Any other global, opcode or persistent id is refused with its name. Memory is
//! bounded: the stream is a slice already in memory, and stack, memo and container sizes are capped.

use std::collections::HashMap;

use crate::error::{Result, WeightsError};
use crate::tensor::DType;

/// At most this many values on the stack, in the memo, or in one container.
const MAX_ITEMS: usize = 1 << 22;

/// A value built by the reader. Callables are only the allow-listed globals.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An integer wider than 64 bits, little-endian two's complement (PyTorch's legacy magic number).
    BigInt(Vec<u8>),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// Key/value pairs in insertion order (dicts and OrderedDicts).
    Dict(Vec<(Value, Value)>),
    Global(Global),
    /// A storage named by a persistent id: its element type, key (file name in the archive or index in
    /// the legacy stream) and element count.
    Storage {
        dtype: DType,
        key: String,
        numel: usize,
    },
    /// A tensor view of a storage.
    Tensor(TensorRef),
}

/// A tensor as `torch._utils._rebuild_tensor_v2` describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorRef {
    pub dtype: DType,
    pub storage_key: String,
    pub storage_numel: usize,
    pub offset: usize,
    pub shape: Vec<usize>,
    pub stride: Vec<usize>,
}

/// The globals a checkpoint may name.
#[derive(Clone, Debug, PartialEq)]
pub enum Global {
    OrderedDict,
    RebuildTensor,
    RebuildTensorV2,
    RebuildParameter,
    Storage(DType),
}

impl Global {
    fn resolve(module: &str, name: &str) -> Result<Self> {
        let storage = |dtype| Ok(Self::Storage(dtype));
        match (module, name) {
            ("collections", "OrderedDict") => Ok(Self::OrderedDict),
            ("torch._utils", "_rebuild_tensor") => Ok(Self::RebuildTensor),
            ("torch._utils", "_rebuild_tensor_v2") => Ok(Self::RebuildTensorV2),
            ("torch._utils", "_rebuild_parameter") => Ok(Self::RebuildParameter),
            ("torch", "FloatStorage") => storage(DType::F32),
            ("torch", "HalfStorage") => storage(DType::F16),
            ("torch", "BFloat16Storage") => storage(DType::BF16),
            ("torch", "DoubleStorage") => storage(DType::F64),
            ("torch", "LongStorage") => storage(DType::I64),
            ("torch", "IntStorage") => storage(DType::I32),
            ("torch", "ShortStorage") => storage(DType::I16),
            ("torch", "CharStorage") => storage(DType::I8),
            ("torch", "ByteStorage") => storage(DType::U8),
            ("torch", "BoolStorage") => storage(DType::Bool),
            _ => Err(WeightsError::Refused(format!(
                "the pickle names {module}.{name}, which is not on the allow-list (a checkpoint holds tensors \
                 and dicts only; a pickled model object or code is never loaded)"
            ))),
        }
    }
}

/// How persistent ids become storages (they differ between the zip and the legacy format).
pub trait Persistent {
    fn load(&mut self, pid: Value) -> Result<Value>;
}

/// The zip and legacy formats both use `('storage', <storage type>, key, location, numel[, view])`.
pub struct StoragePids;

impl Persistent for StoragePids {
    fn load(&mut self, pid: Value) -> Result<Value> {
        let Value::Tuple(items) = pid else { return Err(bad("a persistent id that is not a tuple")) };
        match items.as_slice() {
            [Value::Str(kind), Value::Global(Global::Storage(dtype)), key, _location, Value::Int(numel), ..]
                if kind == "storage" =>
            {
                let key = match key {
                    Value::Str(s) => s.clone(),
                    Value::Int(i) => i.to_string(),
                    _ => return Err(bad("a storage key that is neither a string nor an integer")),
                };
                let numel = usize::try_from(*numel).map_err(|_| bad("a negative storage size"))?;
                Ok(Value::Storage { dtype: *dtype, key, numel })
            }
            _ => Err(bad("a persistent id that is not a typed storage")),
        }
    }
}

fn bad(what: &str) -> WeightsError {
    WeightsError::Malformed(format!("pickle: {what}"))
}

/// Read one pickle from the start of `data`; returns the value and the number of bytes consumed.
pub fn read(data: &[u8], persistent: &mut dyn Persistent) -> Result<(Value, usize)> {
    let mut r = Reader { data, pos: 0 };
    let mut stack: Vec<Value> = Vec::new();
    let mut marks: Vec<usize> = Vec::new();
    let mut memo: HashMap<u32, Value> = HashMap::new();
    loop {
        let op = r.u8()?;
        match op {
            0x80 => {
                let protocol = r.u8()?;
                if protocol > 5 {
                    return Err(bad(&format!("protocol {protocol} (at most 5 is known)")));
                }
            }
            0x95 => {
                r.take(8)?; // FRAME: a length hint only.
            }
            b'.' => {
                let value = stack.pop().ok_or_else(|| bad("STOP with an empty stack"))?;
                return Ok((value, r.pos));
            }
            b'(' => marks.push(stack.len()),
            b'N' => stack.push(Value::None),
            0x88 => stack.push(Value::Bool(true)),
            0x89 => stack.push(Value::Bool(false)),
            b'}' => stack.push(Value::Dict(Vec::new())),
            b']' => stack.push(Value::List(Vec::new())),
            b')' => stack.push(Value::Tuple(Vec::new())),
            b'J' => stack.push(Value::Int(i64::from(i32::from_le_bytes(r.array()?)))),
            b'K' => stack.push(Value::Int(i64::from(r.u8()?))),
            b'M' => stack.push(Value::Int(i64::from(u16::from_le_bytes(r.array()?)))),
            0x8a => {
                let n = usize::from(r.u8()?);
                let bytes = r.take(n)?;
                stack.push(if n > 8 { Value::BigInt(bytes.to_vec()) } else { Value::Int(long(bytes)?) });
            }
            b'G' => stack.push(Value::Float(f64::from_be_bytes(r.array()?))),
            b'X' => {
                let n = r.u32()? as usize;
                stack.push(Value::Str(r.string(n)?));
            }
            0x8c => {
                let n = usize::from(r.u8()?);
                stack.push(Value::Str(r.string(n)?));
            }
            b'T' => {
                let n = r.u32()? as usize;
                stack.push(Value::Str(r.string(n)?));
            }
            b'U' => {
                let n = usize::from(r.u8()?);
                stack.push(Value::Str(r.string(n)?));
            }
            b'B' => {
                let n = r.u32()? as usize;
                stack.push(Value::Bytes(r.take(n)?.to_vec()));
            }
            b'C' => {
                let n = usize::from(r.u8()?);
                stack.push(Value::Bytes(r.take(n)?.to_vec()));
            }
            b'q' => {
                let key = u32::from(r.u8()?);
                memoize(&mut memo, key, &stack)?;
            }
            b'r' => {
                let key = r.u32()?;
                memoize(&mut memo, key, &stack)?;
            }
            0x94 => {
                let key = u32::try_from(memo.len()).map_err(|_| bad("memo too large"))?;
                memoize(&mut memo, key, &stack)?;
            }
            b'h' => {
                let key = u32::from(r.u8()?);
                stack.push(memo.get(&key).cloned().ok_or_else(|| bad("BINGET of an unknown memo key"))?);
            }
            b'j' => {
                let key = r.u32()?;
                stack.push(memo.get(&key).cloned().ok_or_else(|| bad("LONG_BINGET of an unknown memo key"))?);
            }
            b'c' => {
                let module = r.line()?;
                let name = r.line()?;
                stack.push(Value::Global(Global::resolve(&module, &name)?));
            }
            0x93 => {
                let name = pop(&mut stack)?;
                let module = pop(&mut stack)?;
                let (Value::Str(module), Value::Str(name)) = (module, name) else {
                    return Err(bad("STACK_GLOBAL without two strings"));
                };
                stack.push(Value::Global(Global::resolve(&module, &name)?));
            }
            b't' => {
                let items = pop_mark(&mut stack, &mut marks)?;
                nested(&items)?;
                stack.push(Value::Tuple(items));
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                let at = stack.len().checked_sub(n).ok_or_else(|| bad("TUPLEn with too few items"))?;
                let items = stack.split_off(at);
                nested(&items)?;
                stack.push(Value::Tuple(items));
            }
            b'l' => {
                let items = pop_mark(&mut stack, &mut marks)?;
                nested(&items)?;
                stack.push(Value::List(items));
            }
            b'd' => {
                let items = pop_mark(&mut stack, &mut marks)?;
                nested(&items)?;
                stack.push(Value::Dict(pairs(items)?));
            }
            b'a' => {
                let item = pop(&mut stack)?;
                nested([&item])?;
                match stack.last_mut() {
                    Some(Value::List(list)) => push_bounded(list, item)?,
                    _ => return Err(bad("APPEND to something that is not a list")),
                }
            }
            b'e' => {
                let items = pop_mark(&mut stack, &mut marks)?;
                nested(&items)?;
                match stack.last_mut() {
                    Some(Value::List(list)) => {
                        for item in items {
                            push_bounded(list, item)?;
                        }
                    }
                    _ => return Err(bad("APPENDS to something that is not a list")),
                }
            }
            b's' => {
                let value = pop(&mut stack)?;
                let key = pop(&mut stack)?;
                nested([&key, &value])?;
                match stack.last_mut() {
                    Some(Value::Dict(dict)) => push_bounded(dict, (key, value))?,
                    _ => return Err(bad("SETITEM on something that is not a dict")),
                }
            }
            b'u' => {
                let items = pop_mark(&mut stack, &mut marks)?;
                nested(&items)?;
                let new = pairs(items)?;
                match stack.last_mut() {
                    Some(Value::Dict(dict)) => {
                        for pair in new {
                            push_bounded(dict, pair)?;
                        }
                    }
                    _ => return Err(bad("SETITEMS on something that is not a dict")),
                }
            }
            b'Q' => {
                let pid = pop(&mut stack)?;
                stack.push(persistent.load(pid)?);
            }
            b'R' => {
                let args = pop(&mut stack)?;
                let callable = pop(&mut stack)?;
                stack.push(call(callable, args)?);
            }
            0x81 => {
                // NEWOBJ cls(*args): only OrderedDict() may be constructed this way.
                let args = pop(&mut stack)?;
                let class = pop(&mut stack)?;
                stack.push(call(class, args)?);
            }
            b'b' => {
                // BUILD sets state on the object below; for dicts (an OrderedDict's `_metadata`) and
                // tensors (backward hooks) the state carries no weights and is dropped.
                let _state = pop(&mut stack)?;
                if stack.is_empty() {
                    return Err(bad("BUILD with nothing to build"));
                }
            }
            b'0' => {
                pop(&mut stack)?;
            }
            b'2' => {
                let top = stack.last().cloned().ok_or_else(|| bad("DUP with an empty stack"))?;
                stack.push(top);
            }
            other => {
                return Err(WeightsError::Refused(format!(
                    "pickle opcode 0x{other:02x} at byte {} is not one a checkpoint needs",
                    r.pos - 1
                )));
            }
        }
        if stack.len() > MAX_ITEMS || marks.len() > MAX_ITEMS {
            return Err(bad("too many values"));
        }
    }
}

fn memoize(memo: &mut HashMap<u32, Value>, key: u32, stack: &[Value]) -> Result<()> {
    let top = stack.last().cloned().ok_or_else(|| bad("memo put with an empty stack"))?;
    if memo.len() >= MAX_ITEMS {
        return Err(bad("memo too large"));
    }
    memo.insert(key, top);
    Ok(())
}

fn pop(stack: &mut Vec<Value>) -> Result<Value> {
    stack.pop().ok_or_else(|| bad("stack underflow"))
}

fn pop_mark(stack: &mut Vec<Value>, marks: &mut Vec<usize>) -> Result<Vec<Value>> {
    let mark = marks.pop().ok_or_else(|| bad("no MARK"))?;
    if mark > stack.len() {
        return Err(bad("MARK beyond the stack"));
    }
    Ok(stack.split_off(mark))
}

fn pairs(items: Vec<Value>) -> Result<Vec<(Value, Value)>> {
    if !items.len().is_multiple_of(2) {
        return Err(bad("an odd number of dict items"));
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    Ok(out)
}

/// Containers nest at most this deep: a state dict is a few levels deep, and dropping or walking a
/// value recurses once per level, so a deeper one (a hostile file) is refused while it is built.
const MAX_DEPTH: usize = 64;

/// Refuse `items` (about to go into a container) if any nests more than [`MAX_DEPTH`] levels deep. The
/// walk is iterative and stops at the limit: every value already built is at most that deep.
fn nested<'a>(items: impl IntoIterator<Item = &'a Value>) -> Result<()> {
    let mut todo: Vec<(&Value, usize)> = items.into_iter().map(|v| (v, 1)).collect();
    while let Some((value, depth)) = todo.pop() {
        if depth > MAX_DEPTH {
            return Err(bad("containers nested deeper than 64 levels"));
        }
        match value {
            Value::Tuple(xs) | Value::List(xs) => todo.extend(xs.iter().map(|x| (x, depth + 1))),
            Value::Dict(kv) => todo.extend(kv.iter().flat_map(|(k, x)| [(k, depth + 1), (x, depth + 1)])),
            _ => {}
        }
    }
    Ok(())
}

fn push_bounded<T>(container: &mut Vec<T>, item: T) -> Result<()> {
    if container.len() >= MAX_ITEMS {
        return Err(bad("a container with too many items"));
    }
    container.push(item);
    Ok(())
}

/// Little-endian two's-complement integer of at most 8 bytes (LONG1).
fn long(bytes: &[u8]) -> Result<i64> {
    if bytes.len() > 8 {
        return Err(bad("an integer wider than 64 bits"));
    }
    let mut buf = [0u8; 8];
    let negative = bytes.last().is_some_and(|b| b & 0x80 != 0);
    if negative {
        buf = [0xff; 8];
    }
    for (dst, src) in buf.iter_mut().zip(bytes) {
        *dst = *src;
    }
    Ok(i64::from_le_bytes(buf))
}

/// The allow-listed calls: building an empty OrderedDict and rebuilding tensors.
fn call(callable: Value, args: Value) -> Result<Value> {
    let Value::Global(global) = callable else { return Err(bad("REDUCE of something that is not a global")) };
    let Value::Tuple(args) = args else { return Err(bad("REDUCE arguments that are not a tuple")) };
    match global {
        Global::OrderedDict if args.is_empty() => Ok(Value::Dict(Vec::new())),
        Global::RebuildTensor | Global::RebuildTensorV2 => rebuild_tensor(args),
        // `_rebuild_parameter(data, requires_grad, backward_hooks)`: the parameter is its data.
        Global::RebuildParameter => args.into_iter().next().ok_or_else(|| bad("_rebuild_parameter without data")),
        other => Err(bad(&format!("{other:?} called with {} arguments", args.len()))),
    }
}

fn rebuild_tensor(args: Vec<Value>) -> Result<Value> {
    let mut args = args.into_iter();
    let (Some(storage), Some(Value::Int(offset)), Some(Value::Tuple(size)), Some(Value::Tuple(stride))) =
        (args.next(), args.next(), args.next(), args.next())
    else {
        return Err(bad("_rebuild_tensor arguments are not (storage, offset, size, stride, …)"));
    };
    let Value::Storage { dtype, key, numel } = storage else {
        return Err(bad("_rebuild_tensor of something that is not a storage"));
    };
    let dims = |values: Vec<Value>, what: &str| -> Result<Vec<usize>> {
        values
            .into_iter()
            .map(|v| match v {
                Value::Int(i) => usize::try_from(i).map_err(|_| bad(&format!("a negative {what}"))),
                _ => Err(bad(&format!("a {what} that is not an integer"))),
            })
            .collect()
    };
    Ok(Value::Tensor(TensorRef {
        dtype,
        storage_key: key,
        storage_numel: numel,
        offset: usize::try_from(offset).map_err(|_| bad("a negative storage offset"))?,
        shape: dims(size, "size")?,
        stride: dims(stride, "stride")?,
    }))
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(|| bad("length overflow"))?;
        let bytes = self.data.get(self.pos..end).ok_or(WeightsError::Truncated("the pickle stream"))?;
        self.pos = end;
        Ok(bytes)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(*self.take(1)?.first().ok_or(WeightsError::Truncated("the pickle stream"))?)
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn string(&mut self, n: usize) -> Result<String> {
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| bad("a string that is not UTF-8"))
    }

    fn line(&mut self) -> Result<String> {
        let rest = self.data.get(self.pos..).ok_or(WeightsError::Truncated("the pickle stream"))?;
        let end = rest.iter().take(256).position(|&b| b == b'\n').ok_or_else(|| bad("GLOBAL without a newline"))?;
        let s = self.string(end)?;
        self.pos += 1;
        Ok(s)
    }
}
