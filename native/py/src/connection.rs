//! Both directions of one RTMP connection: the native twin of rtmp_inspect/rtmp/connection.py (same
//! interface, same events), used by the sessions and fed directly by the engine for plain TCP flows.

use std::collections::VecDeque;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rtmp_inspect_rtmp::{ChunkDecoder, Event};

use crate::events::to_python;

/// (stream offset just past a fed segment, its frame, its time)
type FrameEnd = (u64, u64, f64);

/// The state and the work; `ConnectionDecoder` wraps it for Python.
pub struct Connection {
    decoders: [ChunkDecoder; 2],
    frames: [VecDeque<FrameEnd>; 2],
    bytes: [u64; 2],
    first: Option<(u64, f64)>,
    last: Option<(u64, f64)>,
}

/// Late-decoded messages of one feed: (end offset, frame, time) of the segment that carried the last byte.
pub type Late = Vec<(u64, u64, f64)>;

impl Connection {
    pub fn new(expect_handshake: bool) -> Self {
        Connection {
            decoders: [ChunkDecoder::new(expect_handshake, None, false), ChunkDecoder::new(expect_handshake, None, false)],
            frames: [VecDeque::new(), VecDeque::new()],
            bytes: [0, 0],
            first: None,
            last: None,
        }
    }

    fn touch(&mut self, frame: u64, time: f64) {
        if self.first.is_none() {
            self.first = Some((frame, time));
        }
        self.last = Some((frame, time));
    }

    /// The events of `data` into `out`; the late-decoded messages among them, if any.
    pub fn feed(&mut self, direction: usize, frame: u64, time: f64, data: &[u8], out: &mut Vec<Event>) -> Late {
        self.touch(frame, time);
        self.bytes[direction] += data.len() as u64;
        let decoder = &mut self.decoders[direction];
        let start = decoder.received_offset();
        let frames = &mut self.frames[direction];
        frames.push_back((start + data.len() as u64, frame, time));
        let first_new = out.len();
        decoder.receive_data(data, out);
        let mut late = Late::new();
        for event in &out[first_new..] {
            if let Event::Message(message) = event {
                if message.end_offset <= start {
                    if let Some(&(_, f, t)) = frames.iter().find(|(end, _, _)| *end >= message.end_offset) {
                        late.push((message.end_offset, f, t));
                    }
                }
            }
        }
        // Keep only the frames that may still hold the last byte of a message not yet decoded.
        let consumed = decoder.offset();
        while frames.len() > 1 && frames.front().is_some_and(|(end, _, _)| *end <= consumed) {
            frames.pop_front();
        }
        late
    }

    pub fn gap(&mut self, direction: usize, frame: u64, time: f64, size: u64, out: &mut Vec<Event>) {
        self.touch(frame, time);
        self.decoders[direction].receive_gap(size, out);
    }

    pub fn finish(&mut self, direction: usize, out: &mut Vec<Event>) {
        self.decoders[direction].finish(out);
    }
}

fn direction(value: usize) -> PyResult<usize> {
    if value < 2 {
        Ok(value)
    } else {
        Err(PyValueError::new_err(format!("direction {value}: 0 (client to server) or 1")))
    }
}

pub fn events_list<'py>(py: Python<'py>, events: impl IntoIterator<Item = Event>) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for event in events {
        list.append(to_python(py, event)?)?;
    }
    Ok(list)
}

pub fn late_dict<'py>(py: Python<'py>, late: &Late) -> PyResult<Option<Bound<'py, PyDict>>> {
    if late.is_empty() {
        return Ok(None);
    }
    let dict = PyDict::new(py);
    for &(end, frame, time) in late {
        dict.set_item(end, (frame, time))?;
    }
    Ok(Some(dict))
}

/// rtmp_inspect.rtmp.connection.ConnectionDecoder in Rust.
#[pyclass(module = "rtmp_inspect._native")]
pub struct ConnectionDecoder {
    pub inner: Connection,
}

#[pymethods]
impl ConnectionDecoder {
    #[new]
    fn py_new(expect_handshake: bool) -> Self {
        ConnectionDecoder { inner: Connection::new(expect_handshake) }
    }

    fn feed<'py>(
        &mut self,
        py: Python<'py>,
        direction: usize,
        frame: u64,
        time: f64,
        data: &[u8],
    ) -> PyResult<(Bound<'py, PyList>, Option<Bound<'py, PyDict>>)> {
        let mut out = Vec::new();
        let late = self.inner.feed(self::direction(direction)?, frame, time, data, &mut out);
        Ok((events_list(py, out)?, late_dict(py, &late)?))
    }

    fn gap<'py>(&mut self, py: Python<'py>, direction: usize, frame: u64, time: f64, size: u64) -> PyResult<Bound<'py, PyList>> {
        let mut out = Vec::new();
        self.inner.gap(self::direction(direction)?, frame, time, size, &mut out);
        events_list(py, out)
    }

    fn finish<'py>(&mut self, py: Python<'py>, direction: usize) -> PyResult<Bound<'py, PyList>> {
        let mut out = Vec::new();
        self.inner.finish(self::direction(direction)?, &mut out);
        events_list(py, out)
    }

    fn chunk_size(&self, direction: usize) -> PyResult<u32> {
        Ok(self.inner.decoders[self::direction(direction)?].chunk_size())
    }

    fn received_offset(&self, direction: usize) -> PyResult<u64> {
        Ok(self.inner.decoders[self::direction(direction)?].received_offset())
    }

    #[getter]
    fn bytes(&self) -> (u64, u64) {
        (self.inner.bytes[0], self.inner.bytes[1])
    }

    #[getter]
    fn first_frame(&self) -> Option<u64> {
        self.inner.first.map(|(f, _)| f)
    }

    #[getter]
    fn first_time(&self) -> Option<f64> {
        self.inner.first.map(|(_, t)| t)
    }

    #[getter]
    fn last_frame(&self) -> Option<u64> {
        self.inner.last.map(|(f, _)| f)
    }

    #[getter]
    fn last_time(&self) -> Option<f64> {
        self.inner.last.map(|(_, t)| t)
    }
}
