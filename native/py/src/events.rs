//! The chunk decoder's events as Python objects: the same names and attributes as the dataclasses of
//! rtmp_inspect/rtmp/events.py, plus `KIND`, the small integer the session dispatches on.

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rtmp_inspect_rtmp::Event;

// Must equal the KIND class attributes in rtmp_inspect/rtmp/events.py.
pub const HANDSHAKE_VERSION: u8 = 0;
pub const HANDSHAKE_RANDOM: u8 = 1;
pub const HANDSHAKE_ECHO: u8 = 2;
pub const MESSAGE: u8 = 3;
pub const VIOLATION: u8 = 4;
pub const CHUNK_SIZE_CHANGED: u8 = 5;
pub const RESYNCHRONISED: u8 = 6;
pub const ENCRYPTED: u8 = 7;

#[pyclass(frozen, get_all, module = "rtmp_inspect._native")]
pub struct HandshakeVersion {
    version: u8,
    offset: u64,
}

#[pyclass(frozen, get_all, module = "rtmp_inspect._native")]
pub struct HandshakeRandom {
    time: u32,
    version_field: u32,
    data: Py<PyBytes>,
    offset: u64,
}

#[pyclass(frozen, get_all, module = "rtmp_inspect._native")]
pub struct HandshakeEcho {
    time: u32,
    time2: u32,
    data: Py<PyBytes>,
    offset: u64,
}

#[pyclass(frozen, get_all, module = "rtmp_inspect._native")]
pub struct Message {
    csid: u32,
    stream_id: u32,
    timestamp: u32,
    type_id: u8,
    body: Py<PyBytes>,
    offset: u64,
    end_offset: u64,
    chunks: u32,
    first_fmt: u8,
    extended_timestamp: bool,
    inferred: bool,
}

#[pyclass(frozen, get_all, module = "rtmp_inspect._native")]
pub struct Violation {
    code: &'static str,
    severity: &'static str,
    offset: u64,
    reason: String,
}

#[pyclass(frozen, get_all, module = "rtmp_inspect._native")]
pub struct ChunkSizeChanged {
    size: u32,
    offset: u64,
}

#[pyclass(frozen, get_all, module = "rtmp_inspect._native")]
pub struct Resynchronised {
    offset: u64,
    skipped: u64,
    chunk_size: u32,
    chunk_size_inferred: bool,
}

#[pyclass(frozen, get_all, module = "rtmp_inspect._native")]
pub struct Encrypted {
    version: u8,
    offset: u64,
}

macro_rules! kind {
    ($class:ident, $kind:expr) => {
        #[pymethods]
        impl $class {
            #[classattr]
            const KIND: u8 = $kind;
        }
    };
}

kind!(HandshakeVersion, HANDSHAKE_VERSION);
kind!(HandshakeRandom, HANDSHAKE_RANDOM);
kind!(HandshakeEcho, HANDSHAKE_ECHO);
kind!(Violation, VIOLATION);
kind!(ChunkSizeChanged, CHUNK_SIZE_CHANGED);
kind!(Resynchronised, RESYNCHRONISED);
kind!(Encrypted, ENCRYPTED);

#[pymethods]
impl Message {
    #[classattr]
    const KIND: u8 = MESSAGE;

    #[getter]
    fn length(&self, py: Python<'_>) -> usize {
        self.body.bind(py).as_bytes().len()
    }
}

/// One decoder event as a Python object.
pub fn to_python(py: Python<'_>, event: Event) -> PyResult<Py<PyAny>> {
    Ok(match event {
        Event::HandshakeVersion { version, offset } => Py::new(py, HandshakeVersion { version, offset })?.into_any(),
        Event::HandshakeRandom { time, version_field, data, offset } => {
            let data = PyBytes::new(py, &data).unbind();
            Py::new(py, HandshakeRandom { time, version_field, data, offset })?.into_any()
        }
        Event::HandshakeEcho { time, time2, data, offset } => {
            let data = PyBytes::new(py, &data).unbind();
            Py::new(py, HandshakeEcho { time, time2, data, offset })?.into_any()
        }
        Event::Message(m) => {
            let body = PyBytes::new(py, &m.body).unbind();
            Py::new(
                py,
                Message {
                    csid: m.csid,
                    stream_id: m.stream_id,
                    timestamp: m.timestamp,
                    type_id: m.type_id,
                    body,
                    offset: m.offset,
                    end_offset: m.end_offset,
                    chunks: m.chunks,
                    first_fmt: m.first_fmt,
                    extended_timestamp: m.extended_timestamp,
                    inferred: m.inferred,
                },
            )?
            .into_any()
        }
        Event::Violation { code, severity, offset, reason } => {
            Py::new(py, Violation { code, severity, offset, reason })?.into_any()
        }
        Event::ChunkSizeChanged { size, offset } => Py::new(py, ChunkSizeChanged { size, offset })?.into_any(),
        Event::Resynchronised { offset, skipped, chunk_size, chunk_size_inferred } => {
            Py::new(py, Resynchronised { offset, skipped, chunk_size, chunk_size_inferred })?.into_any()
        }
        Event::Encrypted { version, offset } => Py::new(py, Encrypted { version, offset })?.into_any(),
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<HandshakeVersion>()?;
    m.add_class::<HandshakeRandom>()?;
    m.add_class::<HandshakeEcho>()?;
    m.add_class::<Message>()?;
    m.add_class::<Violation>()?;
    m.add_class::<ChunkSizeChanged>()?;
    m.add_class::<Resynchronised>()?;
    m.add_class::<Encrypted>()?;
    Ok(())
}
