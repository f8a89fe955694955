//! rtmp_inspect._native: the native core, driven from rtmp_inspect/core.py.
//!
//! `Engine` reads a capture and tracks its TCP flows; `ConnectionDecoder` decodes both directions of an
//! RTMP connection; the event classes mirror rtmp_inspect/rtmp/events.py; `dumps` writes the outputs' JSON.

use pyo3::create_exception;
use pyo3::prelude::*;

mod connection;
mod engine;
mod events;
mod json;

create_exception!(_native, CaptureError, pyo3::exceptions::PyException, "The input cannot be read as a capture.");

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("CORE", "native core")?;
    m.add("CaptureError", m.py().get_type::<CaptureError>())?;
    m.add_class::<connection::ConnectionDecoder>()?;
    m.add_class::<engine::Engine>()?;
    events::register(m)?;
    m.add_function(wrap_pyfunction!(json::dumps, m)?)?;
    Ok(())
}
