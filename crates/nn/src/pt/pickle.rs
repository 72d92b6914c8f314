//! A restricted unpickler for the `data.pkl` of a `torch.save` archive: the opcodes pickle
//! protocols 2 to 5 use for plain data, and only the globals `torch.load(weights_only=True)`
//! allows for state dicts and optimizer states (`collections.OrderedDict`,
//! `torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter`, the typed storages
//! `torch.FloatStorage` …, `_codecs.encode`). Nothing is ever called: each allowed global is
//! interpreted here. Any other global or opcode is an error naming it and its offset.
//!
//! Memory: every value pushed costs at least one byte of input, strings and bytes are read
//! only after checking their length against the bytes left, the memo is a map (a memo index
//! reserves nothing), and containers are shared by reference as in Python, so the machine's
//! memory is linear in the pickle's size.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::PtDtype;

/// A storage named by a persistent id: `('storage', torch.FloatStorage, '0', 'cpu', numel)`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StorageRef {
    pub dtype: PtDtype,
    pub key: String,
    pub numel: usize,
}

/// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)`: a view of a storage.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TensorRef {
    pub storage: Rc<StorageRef>,
    pub offset: usize,
    pub shape: Vec<usize>,
    pub stride: Vec<usize>,
}

/// The allowed globals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Global {
    OrderedDict,
    RebuildTensorV2,
    RebuildParameter,
    Storage(PtDtype),
    CodecsEncode,
}

/// A dictionary in insertion order, with a map from its (hashable) keys to positions.
#[derive(Debug, Default)]
pub(crate) struct Dict {
    pub items: Vec<(Obj, Obj)>,
    index: HashMap<Key, usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Int(i64),
    Str(Rc<str>),
    None,
}

/// A value on the machine's stack.
#[derive(Debug, Clone)]
pub(crate) enum Obj {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    Tuple(Rc<[Obj]>),
    List(Rc<RefCell<Vec<Obj>>>),
    Dict(Rc<RefCell<Dict>>),
    Global(Global),
    Storage(Rc<StorageRef>),
    Tensor(Rc<TensorRef>),
}

impl Obj {
    fn kind(&self) -> &'static str {
        match self {
            Obj::None => "None",
            Obj::Bool(_) => "bool",
            Obj::Int(_) => "int",
            Obj::Float(_) => "float",
            Obj::Str(_) => "str",
            Obj::Bytes(_) => "bytes",
            Obj::Tuple(_) => "tuple",
            Obj::List(_) => "list",
            Obj::Dict(_) => "dict",
            Obj::Global(_) => "global",
            Obj::Storage(_) => "storage",
            Obj::Tensor(_) => "tensor",
        }
    }

    fn key(&self) -> Option<Key> {
        match self {
            Obj::Int(i) => Some(Key::Int(*i)),
            Obj::Bool(b) => Some(Key::Int(i64::from(*b))),
            Obj::Str(s) => Some(Key::Str(Rc::clone(s))),
            Obj::None => Some(Key::None),
            _ => None,
        }
    }
}

/// Runs the pickle in `data` and returns its value, or an error message with the offset.
pub(crate) fn unpickle(data: &[u8]) -> Result<Obj, String> {
    Machine {
        data,
        pos: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
    }
    .run()
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Obj>,
    marks: Vec<usize>,
    memo: HashMap<u32, Obj>,
}

impl Machine<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| {
                format!(
                    "truncated: {n} bytes wanted at offset {} of {}",
                    self.pos,
                    self.data.len()
                )
            })?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, String> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }

    fn line(&mut self) -> Result<String, String> {
        let rest = &self.data[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| format!("unterminated line at offset {}", self.pos))?;
        let s = std::str::from_utf8(&rest[..n])
            .map_err(|_| format!("a name that is not UTF-8 at offset {}", self.pos))?
            .to_string();
        self.pos += n + 1;
        Ok(s)
    }

    fn text(&mut self, n: usize) -> Result<Obj, String> {
        let at = self.pos;
        let b = self.take(n)?;
        let s =
            std::str::from_utf8(b).map_err(|_| format!("invalid UTF-8 string at offset {at}"))?;
        Ok(Obj::Str(Rc::from(s)))
    }

    fn len(&mut self, n: u64) -> Result<usize, String> {
        usize::try_from(n).map_err(|_| format!("length {n} too large at offset {}", self.pos))
    }

    fn pop(&mut self) -> Result<Obj, String> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(format!("stack underflow at offset {}", self.pos));
        }
        Ok(self.stack.pop().expect("checked non-empty"))
    }

    fn top(&mut self) -> Result<&mut Obj, String> {
        let at = self.pos;
        self.stack
            .last_mut()
            .ok_or_else(|| format!("stack underflow at offset {at}"))
    }

    fn pop_mark(&mut self) -> Result<Vec<Obj>, String> {
        let m = self
            .marks
            .pop()
            .ok_or_else(|| format!("no MARK to pop to at offset {}", self.pos))?;
        Ok(self.stack.split_off(m))
    }

    fn memo_get(&self, i: u32) -> Result<Obj, String> {
        self.memo.get(&i).cloned().ok_or_else(|| {
            format!(
                "memo entry {i} read before it was written (offset {})",
                self.pos
            )
        })
    }

    fn memo_put(&mut self, i: u32) -> Result<(), String> {
        let v = self.top()?.clone();
        self.memo.insert(i, v);
        Ok(())
    }

    fn run(mut self) -> Result<Obj, String> {
        loop {
            let at = self.pos;
            let op = self.u8()?;
            match op {
                0x80 => {
                    let proto = self.u8()?;
                    if proto > 5 {
                        return Err(format!("pickle protocol {proto} is not supported"));
                    }
                }
                0x95 => {
                    self.u64()?; // FRAME: a length hint
                }
                b'.' => {
                    let v = self.pop()?;
                    return Ok(v);
                }
                b'(' => self.marks.push(self.stack.len()),
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.stack.push(v);
                }
                b'N' => self.stack.push(Obj::None),
                0x88 => self.stack.push(Obj::Bool(true)),
                0x89 => self.stack.push(Obj::Bool(false)),
                b'J' => {
                    let v = self.u32()? as i32;
                    self.stack.push(Obj::Int(i64::from(v)));
                }
                b'K' => {
                    let v = self.u8()?;
                    self.stack.push(Obj::Int(i64::from(v)));
                }
                b'M' => {
                    let v = self.u16()?;
                    self.stack.push(Obj::Int(i64::from(v)));
                }
                0x8a => {
                    // LONG1: a little-endian two's complement integer of n bytes.
                    let n = usize::from(self.u8()?);
                    let b = self.take(n)?;
                    if n > 8 {
                        return Err(format!(
                            "integer of {n} bytes at offset {at} does not fit in 64 bits"
                        ));
                    }
                    let mut a = [0u8; 8];
                    a[..n].copy_from_slice(b);
                    if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
                        a[n..].fill(0xff);
                    }
                    self.stack.push(Obj::Int(i64::from_le_bytes(a)));
                }
                b'G' => {
                    let v = f64::from_bits(u64::from_be_bytes(
                        self.take(8)?.try_into().expect("8 bytes"),
                    ));
                    self.stack.push(Obj::Float(v));
                }
                b'X' => {
                    let n = self.u32()?;
                    let n = self.len(u64::from(n))?;
                    let s = self.text(n)?;
                    self.stack.push(s);
                }
                0x8c => {
                    let n = usize::from(self.u8()?);
                    let s = self.text(n)?;
                    self.stack.push(s);
                }
                0x8d => {
                    let n = self.u64()?;
                    let n = self.len(n)?;
                    let s = self.text(n)?;
                    self.stack.push(s);
                }
                b'B' | b'C' | 0x8e => {
                    let n = match op {
                        b'B' => u64::from(self.u32()?),
                        b'C' => u64::from(self.u8()?),
                        _ => self.u64()?,
                    };
                    let n = self.len(n)?;
                    let b: Rc<[u8]> = Rc::from(self.take(n)?);
                    self.stack.push(Obj::Bytes(b));
                }
                b'}' => self.stack.push(Obj::Dict(Rc::default())),
                b']' => self.stack.push(Obj::List(Rc::default())),
                b')' => self.stack.push(Obj::Tuple(Rc::from(Vec::new()))),
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Obj::Tuple(Rc::from(items)));
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    let floor = self.marks.last().copied().unwrap_or(0);
                    if self.stack.len() < floor + n {
                        return Err(format!("stack underflow at offset {at}"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.stack.push(Obj::Tuple(Rc::from(items)));
                }
                b'q' => {
                    let i = self.u8()?;
                    self.memo_put(u32::from(i))?;
                }
                b'r' => {
                    let i = self.u32()?;
                    self.memo_put(i)?;
                }
                0x94 => {
                    let i = u32::try_from(self.memo.len()).map_err(|_| "memo too large")?;
                    self.memo_put(i)?;
                }
                b'h' => {
                    let i = self.u8()?;
                    let v = self.memo_get(u32::from(i))?;
                    self.stack.push(v);
                }
                b'j' => {
                    let i = self.u32()?;
                    let v = self.memo_get(i)?;
                    self.stack.push(v);
                }
                b'a' => {
                    let v = self.pop()?;
                    append(self.top()?, vec![v], at)?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    append(self.top()?, items, at)?;
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    set_items(self.top()?, vec![k, v], at)?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    set_items(self.top()?, items, at)?;
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Obj::Global(global(&module, &name, at)?));
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Obj::Str(m), Obj::Str(n)) => {
                            self.stack.push(Obj::Global(global(&m, &n, at)?));
                        }
                        _ => {
                            return Err(format!("STACK_GLOBAL without two strings at offset {at}"))
                        }
                    }
                }
                b'R' => {
                    let args = self.pop()?;
                    let f = self.pop()?;
                    let v = reduce(f, args, at)?;
                    self.stack.push(v);
                }
                b'b' => {
                    // BUILD on an OrderedDict sets attributes such as `_metadata`: not needed.
                    let state = self.pop()?;
                    match (self.top()?, &state) {
                        (Obj::Dict(_), Obj::Dict(_) | Obj::None) => {}
                        (target, _) => {
                            return Err(format!(
                                "BUILD of a {} with a {} at offset {at} is not allowed",
                                target.kind(),
                                state.kind()
                            ))
                        }
                    }
                }
                b'Q' => {
                    let pid = self.pop()?;
                    let v = persistent_load(&pid, at)?;
                    self.stack.push(v);
                }
                other => {
                    return Err(format!(
                    "opcode {} at offset {at} is not allowed (not used by torch.save for weights)",
                    opcode_name(other)
                ))
                }
            }
        }
    }
}

fn append(target: &mut Obj, items: Vec<Obj>, at: usize) -> Result<(), String> {
    match target {
        Obj::List(l) => {
            l.borrow_mut().extend(items);
            Ok(())
        }
        other => Err(format!("APPEND to a {} at offset {at}", other.kind())),
    }
}

fn set_items(target: &mut Obj, items: Vec<Obj>, at: usize) -> Result<(), String> {
    let Obj::Dict(d) = target else {
        return Err(format!("SETITEM on a {} at offset {at}", target.kind()));
    };
    if !items.len().is_multiple_of(2) {
        return Err(format!(
            "SETITEMS with an odd number of values at offset {at}"
        ));
    }
    let mut d = d.borrow_mut();
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        let key = k
            .key()
            .ok_or_else(|| format!("a dict key of type {} at offset {at}", k.kind()))?;
        match d.index.get(&key) {
            Some(&i) => d.items[i].1 = v,
            None => {
                let i = d.items.len();
                d.index.insert(key, i);
                d.items.push((k, v));
            }
        }
    }
    Ok(())
}

/// The allowed globals; anything else is refused by name.
fn global(module: &str, name: &str, at: usize) -> Result<Global, String> {
    let g = match (module, name) {
        ("collections", "OrderedDict") => Global::OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2") => Global::RebuildTensorV2,
        ("torch._utils", "_rebuild_parameter") => Global::RebuildParameter,
        ("_codecs", "encode") => Global::CodecsEncode,
        ("torch", storage) => Global::Storage(
            PtDtype::from_storage(storage).ok_or_else(|| refused(module, name, at))?,
        ),
        _ => return Err(refused(module, name, at)),
    };
    Ok(g)
}

fn refused(module: &str, name: &str, at: usize) -> String {
    format!(
        "global `{module}.{name}` at offset {at} is not allowed: only what torch.load(weights_only=True) accepts for tensors is unpickled"
    )
}

fn int(o: &Obj, what: &str, at: usize) -> Result<usize, String> {
    match o {
        Obj::Int(i) => {
            usize::try_from(*i).map_err(|_| format!("{what} {i} is negative (offset {at})"))
        }
        other => Err(format!("{what} is a {} (offset {at})", other.kind())),
    }
}

fn ints(o: &Obj, what: &str, at: usize) -> Result<Vec<usize>, String> {
    match o {
        Obj::Tuple(t) => t.iter().map(|x| int(x, what, at)).collect(),
        other => Err(format!("{what} is a {} (offset {at})", other.kind())),
    }
}

/// Calls an allowed global: the only "code" a torch.save pickle runs.
fn reduce(f: Obj, args: Obj, at: usize) -> Result<Obj, String> {
    let Obj::Tuple(args) = args else {
        return Err(format!(
            "REDUCE with arguments of type {} at offset {at}",
            args.kind()
        ));
    };
    let Obj::Global(g) = f else {
        return Err(format!("REDUCE calls a {} at offset {at}", f.kind()));
    };
    match g {
        Global::OrderedDict => {
            if !args.is_empty() {
                return Err(format!("OrderedDict with arguments at offset {at}"));
            }
            Ok(Obj::Dict(Rc::default()))
        }
        Global::RebuildTensorV2 => {
            // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            if !(6..=7).contains(&args.len()) {
                return Err(format!(
                    "_rebuild_tensor_v2 with {} arguments at offset {at}",
                    args.len()
                ));
            }
            let Obj::Storage(storage) = &args[0] else {
                return Err(format!(
                    "_rebuild_tensor_v2 of a {} at offset {at}",
                    args[0].kind()
                ));
            };
            let offset = int(&args[1], "storage offset", at)?;
            let shape = ints(&args[2], "size", at)?;
            let stride = ints(&args[3], "stride", at)?;
            if shape.len() != stride.len() {
                return Err(format!(
                    "size {shape:?} and stride {stride:?} differ in length (offset {at})"
                ));
            }
            check_view(storage, offset, &shape, &stride)
                .map_err(|e| format!("{e} (offset {at})"))?;
            Ok(Obj::Tensor(Rc::new(TensorRef {
                storage: Rc::clone(storage),
                offset,
                shape,
                stride,
            })))
        }
        Global::RebuildParameter => match args.first() {
            Some(t @ Obj::Tensor(_)) if args.len() == 3 => Ok(t.clone()),
            _ => Err(format!(
                "_rebuild_parameter without a tensor at offset {at}"
            )),
        },
        Global::CodecsEncode => match &args[..] {
            [Obj::Str(s), Obj::Str(enc)] if &**enc == "latin1" => {
                // Protocol 2 writes bytes as `_codecs.encode(text, 'latin1')`.
                let b: Option<Vec<u8>> =
                    s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect();
                b.map(|b| Obj::Bytes(Rc::from(b)))
                    .ok_or_else(|| format!("latin1 text out of range at offset {at}"))
            }
            _ => Err(format!(
                "_codecs.encode with other arguments at offset {at}"
            )),
        },
        Global::Storage(_) => Err(format!("a storage class called at offset {at}")),
    }
}

/// A tensor view must stay inside its storage.
fn check_view(
    storage: &StorageRef,
    offset: usize,
    shape: &[usize],
    stride: &[usize],
) -> Result<(), String> {
    if shape.contains(&0) {
        return Ok(());
    }
    let mut last = offset;
    for (&n, &s) in shape.iter().zip(stride) {
        last = (n - 1)
            .checked_mul(s)
            .and_then(|x| last.checked_add(x))
            .ok_or("a view whose extent overflows")?;
    }
    if last >= storage.numel {
        return Err(format!(
            "a view (offset {offset}, size {shape:?}, stride {stride:?}) reaches element {last} of storage `{}` with {} elements",
            storage.key, storage.numel
        ));
    }
    Ok(())
}

/// `('storage', torch.FloatStorage, key, location, numel)`, torch's persistent id.
fn persistent_load(pid: &Obj, at: usize) -> Result<Obj, String> {
    let bad = || format!("a persistent id that is not a torch storage at offset {at}");
    let Obj::Tuple(t) = pid else {
        return Err(bad());
    };
    match &t[..] {
        [Obj::Str(tag), Obj::Global(Global::Storage(dtype)), Obj::Str(key), Obj::Str(_location), numel]
            if &**tag == "storage" =>
        {
            let numel = int(numel, "storage size", at)?;
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "storage key {key:?} at offset {at} is not a plain name"
                ));
            }
            Ok(Obj::Storage(Rc::new(StorageRef {
                dtype: *dtype,
                key: key.to_string(),
                numel,
            })))
        }
        _ => Err(bad()),
    }
}

fn opcode_name(op: u8) -> String {
    let name = match op {
        b'I' => "INT",
        b'L' => "LONG",
        b'F' => "FLOAT",
        b'S' => "STRING",
        b'T' => "BINSTRING",
        b'U' => "SHORT_BINSTRING",
        b'V' => "UNICODE",
        b'P' => "PERSID",
        b'd' => "DICT",
        b'l' => "LIST",
        b'g' => "GET",
        b'p' => "PUT",
        b'i' => "INST",
        b'o' => "OBJ",
        0x81 => "NEWOBJ",
        0x92 => "NEWOBJ_EX",
        0x82..=0x84 => "EXT",
        0x8b => "LONG4",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => "unknown",
    };
    format!("0x{op:02x} ({name})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A torch-like pickle: an OrderedDict with one tensor of a FloatStorage.
    const TORCHLIKE: &[u8] = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01X\x01\x00\x00\x00wq\x02ctorch._utils\n_rebuild_tensor_v2\nq\x03((X\x07\x00\x00\x00storageq\x04ctorch\nFloatStorage\nq\x05X\x01\x00\x00\x000q\x06X\x03\x00\x00\x00cpuq\x07K\x06tq\x08QK\x01K\x02K\x02\x86K\x01K\x02\x86\x89h\x00)Rtq\tRq\ns.";

    proptest! {
        #[test]
        fn any_bytes_are_a_value_or_an_error(data in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = unpickle(&data);
        }

        #[test]
        fn mutated_torch_pickles_are_a_value_or_an_error(
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut p = TORCHLIKE.to_vec();
            for (at, b) in edits {
                let i = at.index(p.len());
                p[i] = b;
            }
            let _ = unpickle(&p);
            let _ = unpickle(&TORCHLIKE[..cut.index(TORCHLIKE.len())]);
        }
    }

    #[test]
    fn a_torch_tensor_is_a_checked_view_of_its_storage() {
        let Obj::Dict(d) = unpickle(TORCHLIKE).unwrap() else {
            panic!("not a dict")
        };
        let d = d.borrow();
        let Obj::Tensor(t) = &d.items[0].1 else {
            panic!("not a tensor")
        };
        assert_eq!(
            (t.offset, t.shape.clone(), t.stride.clone()),
            (1, vec![2, 2], vec![1, 2])
        );
        assert_eq!((t.storage.dtype, t.storage.numel), (PtDtype::Float32, 6));
        // Offset 1 + (2-1)*1 + (2-1)*2 = 4 < 6; with a storage of 4 it is out of bounds.
        let mut small = TORCHLIKE.to_vec();
        let at = small.windows(3).position(|w| w == b"K\x06t").unwrap();
        small[at + 1] = 4;
        assert!(unpickle(&small).unwrap_err().contains("reaches element 4"));
    }

    #[test]
    fn plain_values_and_shared_containers() {
        // pickle.dumps({"a": [1, -2, 300, 70000], "b": (1.5, None, True)}, protocol=2)
        let p = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01J\xfe\xff\xff\xffM,\x01J\x70\x11\x01\x00eX\x01\x00\x00\x00bq\x03G?\xf8\x00\x00\x00\x00\x00\x00N\x88\x87q\x04u.";
        let Obj::Dict(d) = unpickle(p).unwrap() else {
            panic!("not a dict")
        };
        let d = d.borrow();
        let Obj::List(l) = &d.items[0].1 else {
            panic!("not a list")
        };
        let l: Vec<i64> = l
            .borrow()
            .iter()
            .map(|x| match x {
                Obj::Int(i) => *i,
                _ => panic!(),
            })
            .collect();
        assert_eq!(l, vec![1, -2, 300, 70000]);
        assert!(
            matches!(&d.items[1].1, Obj::Tuple(t) if matches!(t[0], Obj::Float(f) if f == 1.5))
        );
    }

    #[test]
    fn refusals_name_the_global_or_opcode() {
        let e = unpickle(b"\x80\x02cposix\nsystem\nq\x00.").unwrap_err();
        assert!(
            e.contains("`posix.system`") && e.contains("offset 2"),
            "{e}"
        );
        let e = unpickle(b"\x80\x02\x81.").unwrap_err();
        assert!(e.contains("NEWOBJ"), "{e}");
        let e = unpickle(b"\x80\x02ctorch\nTensor\n.").unwrap_err();
        assert!(e.contains("torch.Tensor"), "{e}");
        // Lengths past the end, missing memo entries, empty stacks: errors, not panics.
        assert!(unpickle(b"X\xff\xff\xff\xff")
            .unwrap_err()
            .contains("truncated"));
        assert!(unpickle(b"h\x05.").unwrap_err().contains("memo"));
        assert!(unpickle(b".").unwrap_err().contains("underflow"));
        assert!(unpickle(b"(\x85.").unwrap_err().contains("underflow"));
        assert!(unpickle(b"").is_err());
    }

    #[test]
    fn long1_sign_extends() {
        for (bytes, want) in [
            (&b"\x8a\x01\xff."[..], -1i64),
            (b"\x8a\x02\x00\x80.", -32768),
            (b"\x8a\x03\x00\x80\x00.", 32768),
            (b"\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80.", i64::MIN),
            (b"\x8a\x00.", 0),
        ] {
            assert!(matches!(unpickle(bytes).unwrap(), Obj::Int(i) if i == want));
        }
        assert!(unpickle(b"\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.").is_err());
    }
}
