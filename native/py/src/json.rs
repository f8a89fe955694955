//! `dumps(value)`: the JSON text that Python's `json.JSONEncoder(ensure_ascii=True, separators=(",", ":"),
//! allow_nan=False).encode(value)` gives, written in one pass. The outputs encode every message with it.
//!
//! It handles what the outputs build: dicts with string keys, lists, tuples, str (and its subclasses, as the
//! C encoder does), int, float, bool and None. For anything else (another key type, a float that is not
//! finite, a string with a lone surrogate, an unknown object, nesting deeper than Python allows) it returns
//! None and the caller uses Python's encoder, which gives the same text or raises the same error. Floats are
//! written by Python's own repr, so that the digits are always Python's.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

/// Deeper than this, Python's encoder would raise RecursionError: let it.
const MAX_DEPTH: usize = 900;

struct Unsupported;

fn escape_into(out: &mut String, text: &str) {
    out.push('"');
    let bytes = text.as_bytes();
    let mut plain_from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        // ASCII printable except the quote and the backslash goes out as it is.
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            continue;
        }
        if b >= 0x80 && !text.is_char_boundary(i) {
            continue; // a continuation byte: its character was written at its first byte
        }
        out.push_str(&text[plain_from..i]);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                let c = text[i..].chars().next().expect("a character starts here") as u32;
                if c >= 0x10000 {
                    let v = c - 0x10000;
                    push_u16_escape(out, 0xd800 | (v >> 10));
                    push_u16_escape(out, 0xdc00 | (v & 0x3ff));
                } else {
                    push_u16_escape(out, c);
                }
            }
        }
        plain_from = i + if b < 0x80 { 1 } else { text[i..].chars().next().map_or(1, char::len_utf8) };
    }
    out.push_str(&text[plain_from..]);
    out.push('"');
}

fn push_u16_escape(out: &mut String, unit: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push_str("\\u");
    for shift in [12, 8, 4, 0] {
        out.push(char::from(HEX[((unit >> shift) & 0xf) as usize]));
    }
}

fn write_value(out: &mut String, value: &Bound<'_, PyAny>, depth: usize) -> Result<(), Unsupported> {
    if depth > MAX_DEPTH {
        return Err(Unsupported);
    }
    if value.is_none() {
        out.push_str("null");
    } else if let Ok(flag) = value.cast::<PyBool>() {
        out.push_str(if flag.is_true() { "true" } else { "false" });
    } else if let Ok(text) = value.cast::<PyString>() {
        escape_into(out, text.to_str().map_err(|_| Unsupported)?);
    } else if let Ok(number) = value.cast::<PyInt>() {
        match number.extract::<i64>() {
            Ok(n) => out.push_str(itoa_buffer(n).as_str()),
            // A big int: int's own decimal form (a subclass's __repr__ is not what json writes).
            Err(_) => out.push_str(&number.str().map_err(|_| Unsupported)?.to_string_lossy()),
        }
    } else if let Ok(number) = value.cast_exact::<PyFloat>() {
        if !number.value().is_finite() {
            return Err(Unsupported); // Python raises ValueError (allow_nan=False)
        }
        out.push_str(&number.repr().map_err(|_| Unsupported)?.to_string_lossy());
    } else if let Ok(list) = value.cast::<PyList>() {
        out.push('[');
        for (n, item) in list.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            write_value(out, &item, depth + 1)?;
        }
        out.push(']');
    } else if let Ok(tuple) = value.cast::<PyTuple>() {
        out.push('[');
        for (n, item) in tuple.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            write_value(out, &item, depth + 1)?;
        }
        out.push(']');
    } else if let Ok(dict) = value.cast::<PyDict>() {
        out.push('{');
        for (n, (key, item)) in dict.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            let key = key.cast::<PyString>().map_err(|_| Unsupported)?;
            escape_into(out, key.to_str().map_err(|_| Unsupported)?);
            out.push(':');
            write_value(out, &item, depth + 1)?;
        }
        out.push('}');
    } else {
        return Err(Unsupported);
    }
    Ok(())
}

/// An i64 in decimal, without a heap allocation per number.
struct Decimal {
    buf: [u8; 20],
    start: usize,
}

impl Decimal {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[self.start..]).expect("ASCII digits")
    }
}

fn itoa_buffer(n: i64) -> Decimal {
    let mut buf = [0u8; 20];
    let mut pos = buf.len();
    let mut rest = n.unsigned_abs();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        // i64::MIN has 19 digits: there is room for the sign in 20 bytes.
        pos -= 1;
        buf[pos] = b'-';
    }
    Decimal { buf, start: pos }
}

/// The JSON text of `value`, or None where Python's encoder must decide (see the module comment).
#[pyfunction]
pub fn dumps(value: &Bound<'_, PyAny>) -> Option<String> {
    let mut out = String::with_capacity(256);
    write_value(&mut out, value, 0).ok()?;
    Some(out)
}
