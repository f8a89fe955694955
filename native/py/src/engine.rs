//! The engine: capture bytes in, flow events out, in batches. It parses the records, decodes the packets,
//! runs the TCP flow table and reassembly, and feeds the flows that Python has attached to a session
//! straight into that session's ConnectionDecoder, so that Python sees only what it acts on: flows being
//! recognised, decoded messages, the ends of flows, UDP datagrams.
//!
//! Each event is a tuple `(kind, steps, ...)`. `steps` counts the events that addressed a session without
//! being handed to Python (a segment of a flow that another --jobs process decodes, a segment that completed
//! no message): the analyzer adds them to its step counter before handling the event, so that every process
//! numbers the moments of the capture alike (see rtmp_inspect/parallel.py).

use std::collections::HashMap;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};
use rtmp_inspect_capture::{Address, CaptureParser, FlowEvent, FlowSummary, FlowTable, Packet};
use rtmp_inspect_rtmp::Event;

use crate::connection::{events_list, late_dict, ConnectionDecoder};

// Event kinds; must equal those in rtmp_inspect/core.py.
const STARTED: u8 = 0;
const DATA: u8 = 1;
const GAP: u8 = 2;
const MISMATCH: u8 = 3;
const ENDED: u8 = 4;
const UDP: u8 = 5;
const DECODED: u8 = 6;
const STEPS: u8 = 7;

/// What the engine does with a TCP flow's bytes. A flow without a mode hands them to Python (flows being
/// recognised, TLS and RTMPT carriers).
enum Mode {
    /// Decode them into this session's connection decoder; `client` is the TCP direction of the client.
    Attached { decoder: Py<ConnectionDecoder>, client: u8 },
    /// Another --jobs process decodes this session: count the steps, hand nothing over.
    Foreign,
    /// Not RTMP: nothing to do.
    Dropped,
}

#[pyclass(module = "rtmp_inspect._native", unsendable)]
pub struct Engine {
    parser: CaptureParser,
    flows: Flows,
}

/// Everything after the parser: the flow table and what is done with each flow's events.
struct Flows {
    table: FlowTable,
    modes: HashMap<u64, Mode>,
    /// Session-addressing events not handed to Python since the last event that was.
    steps: u64,
    /// Only the packets of one TCP connection (both directions), for re-decodes.
    only: Option<(Address, u16, Address, u16)>,
    decoded: Vec<Event>,
}

fn address(py: Python<'_>, address: &Address) -> Py<PyBytes> {
    PyBytes::new(py, address.bytes()).unbind()
}

fn parse_address(bytes: &[u8]) -> PyResult<Address> {
    match bytes.len() {
        4 => Ok(Address::V4(bytes.try_into().expect("4 bytes"))),
        16 => Ok(Address::V6(bytes.try_into().expect("16 bytes"))),
        n => Err(PyValueError::new_err(format!("an address of {n} bytes"))),
    }
}

fn summary_tuple<'py>(py: Python<'py>, s: &FlowSummary) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(
        py,
        [
            s.zero_windows.into_pyobject(py)?.into_any(),
            s.zero_window_first_frame.into_pyobject(py)?.into_any(),
            s.fin_seen(0).into_pyobject(py)?.to_owned().into_any(),
            s.fin_seen(1).into_pyobject(py)?.to_owned().into_any(),
            s.checksum_drops[0].into_pyobject(py)?.into_any(),
            s.checksum_drops[1].into_pyobject(py)?.into_any(),
            s.checksum_drop_first_frame.into_pyobject(py)?.into_any(),
            s.resets_ignored.into_pyobject(py)?.into_any(),
            s.reset_ignored_first_frame.into_pyobject(py)?.into_any(),
            s.data_segments[0].into_pyobject(py)?.into_any(),
            s.data_segments[1].into_pyobject(py)?.into_any(),
            s.full_segments[0].into_pyobject(py)?.into_any(),
            s.full_segments[1].into_pyobject(py)?.into_any(),
            (s.streams[0].implausible + s.streams[1].implausible).into_pyobject(py)?.into_any(),
            (s.streams[0].implausible_acks + s.streams[1].implausible_acks).into_pyobject(py)?.into_any(),
        ],
    )
}

impl Flows {
    fn take_steps(&mut self) -> u64 {
        std::mem::take(&mut self.steps)
    }

    fn wanted(&self, src: &Address, sport: u16, dst: &Address, dport: u16) -> bool {
        match &self.only {
            None => true,
            Some((a, pa, b, pb)) => {
                (src == a && sport == *pa && dst == b && dport == *pb) || (src == b && sport == *pb && dst == a && dport == *pa)
            }
        }
    }

    /// Hand one flow event to Python, or to the flow's decoder.
    fn route(&mut self, py: Python<'_>, event: FlowEvent<'_>, out: &Bound<'_, PyList>) -> PyResult<()> {
        match event {
            FlowEvent::Started { flow } => {
                let steps = self.take_steps();
                let info = self.table.flow(flow).expect("a flow that just started is in the table");
                let [(a, pa), (b, pb)] = &info.endpoints;
                out.append((STARTED, steps, flow, address(py, a), *pa, address(py, b), *pb, info.first_frame, info.first_time))?;
            }
            FlowEvent::Data { flow, direction, frame, time, data, offset } => match self.modes.get(&flow) {
                None => {
                    let steps = self.take_steps();
                    out.append((DATA, steps, flow, direction, frame, time, PyBytes::new(py, &data), offset))?;
                }
                Some(Mode::Attached { decoder, client }) => {
                    let side = usize::from(direction != *client);
                    let mut decoded = std::mem::take(&mut self.decoded);
                    let late = decoder.borrow_mut(py).inner.feed(side, frame, time, &data, &mut decoded);
                    if decoded.is_empty() {
                        self.steps += 1;
                    } else {
                        let steps = self.take_steps();
                        let events = events_list(py, decoded.drain(..))?; // (the buffer is kept for the next segment)
                        out.append((DECODED, steps, flow, direction, frame, time, events, late_dict(py, &late)?))?;
                    }
                    self.decoded = decoded;
                }
                Some(Mode::Foreign) => self.steps += 1,
                Some(Mode::Dropped) => {}
            },
            FlowEvent::Gap { flow, direction, frame, time, offset, size } => match self.modes.get(&flow) {
                None => {
                    let steps = self.take_steps();
                    out.append((GAP, steps, flow, direction, frame, time, offset, size))?;
                }
                Some(Mode::Attached { decoder, client }) => {
                    let side = usize::from(direction != *client);
                    let mut decoded = Vec::new();
                    decoder.borrow_mut(py).inner.gap(side, frame, time, size, &mut decoded);
                    let steps = self.take_steps();
                    let events = events_list(py, decoded)?;
                    out.append((DECODED, steps, flow, direction, frame, time, events, py.None()))?;
                }
                Some(Mode::Foreign) => self.steps += 1,
                Some(Mode::Dropped) => {}
            },
            FlowEvent::Mismatch { flow, direction, frame, offset, size } => match self.modes.get(&flow) {
                Some(Mode::Foreign) => self.steps += 1,
                Some(Mode::Dropped) => {}
                _ => {
                    let steps = self.take_steps();
                    out.append((MISMATCH, steps, flow, direction, frame, offset, size))?;
                }
            },
            FlowEvent::Ended { flow, frame, time, reason, summary } => {
                self.modes.remove(&flow);
                let steps = self.take_steps();
                out.append((ENDED, steps, flow, frame, time, reason.as_str(), summary_tuple(py, &summary)?))?;
            }
        }
        Ok(())
    }

    /// One packet, through the flow table.
    fn packet(&mut self, py: Python<'_>, packet: Packet<'_>, out: &Bound<'_, PyList>) -> PyResult<()> {
        match packet {
            Packet::Tcp(segment) => {
                if !self.wanted(&segment.src, segment.sport, &segment.dst, segment.dport) {
                    return Ok(());
                }
                let mut events = Vec::with_capacity(2);
                self.table.add(&segment, &mut events);
                for event in events {
                    self.route(py, event, out)?;
                }
            }
            Packet::Udp(d) => {
                if self.only.is_none() {
                    let steps = self.take_steps();
                    let (src, dst) = (address(py, &d.src), address(py, &d.dst));
                    out.append((UDP, steps, src, d.sport, dst, d.dport, PyBytes::new(py, d.payload), d.frame, d.time))?;
                }
            }
        }
        Ok(())
    }
}

impl Engine {
    /// Every packet the parser can give now.
    fn drain(&mut self, py: Python<'_>, out: &Bound<'_, PyList>) -> PyResult<()> {
        loop {
            match self.parser.next_packet() {
                Ok(Some(packet)) => self.flows.packet(py, packet, out)?,
                Ok(None) => return Ok(()),
                Err(error) => return Err(crate::CaptureError::new_err(error.0)),
            }
        }
    }
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (name, only=None))]
    fn py_new(name: &str, only: Option<(Vec<u8>, u16, Vec<u8>, u16)>) -> PyResult<Self> {
        let only = match only {
            None => None,
            Some((a, pa, b, pb)) => Some((parse_address(&a)?, pa, parse_address(&b)?, pb)),
        };
        Ok(Engine {
            parser: CaptureParser::new(name),
            flows: Flows { table: FlowTable::new(), modes: HashMap::new(), steps: 0, only, decoded: Vec::new() },
        })
    }

    /// Feed the first bytes and parse the capture's header (True once it is open; `end`: no more bytes
    /// will come). Raises CaptureError for input unusable from the start. `gunzipped`: the bytes are the
    /// output of gunzip (only the message for an empty input differs).
    #[pyo3(signature = (data, end, gunzipped=false))]
    fn open(&mut self, data: &[u8], end: bool, gunzipped: bool) -> PyResult<bool> {
        self.parser.set_gunzipped(gunzipped);
        self.parser.feed(data);
        if end {
            self.parser.end_of_input();
        }
        self.parser.try_open().map_err(|error| crate::CaptureError::new_err(error.0))
    }

    /// More bytes of the capture: the events of every packet they complete.
    fn feed<'py>(&mut self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyList>> {
        self.parser.feed(data);
        let out = PyList::empty(py);
        self.drain(py, &out)?;
        Ok(out)
    }

    /// The input is over: the events of the last packets, then the ends of every open flow.
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        self.parser.end_of_input();
        let out = PyList::empty(py);
        self.drain(py, &out)?;
        let mut events = Vec::new();
        self.flows.table.flush(&mut events);
        for event in events {
            self.flows.route(py, event, &out)?;
        }
        if self.flows.steps > 0 {
            let steps = self.flows.take_steps();
            out.append((STEPS, steps))?;
        }
        Ok(out)
    }

    /// From now on, decode the flow's bytes into `decoder` (`client`: the client's TCP direction).
    fn attach(&mut self, flow: u64, client: u8, decoder: Py<ConnectionDecoder>) {
        self.flows.modes.insert(flow, Mode::Attached { decoder, client });
    }

    /// Another process decodes this flow's session: only count its steps.
    fn foreign(&mut self, flow: u64) {
        self.flows.modes.insert(flow, Mode::Foreign);
    }

    /// Not RTMP (or no longer of interest): hand nothing of it over.
    fn drop_flow(&mut self, flow: u64) {
        self.flows.modes.insert(flow, Mode::Dropped);
    }

    #[getter]
    fn format(&self) -> &str {
        self.parser.format()
    }

    #[getter]
    fn packets(&self) -> u64 {
        self.parser.packets()
    }

    #[getter]
    fn start(&self) -> Option<f64> {
        self.parser.start()
    }

    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.parser.warnings().to_vec()
    }

    #[getter]
    fn link_types(&self) -> Vec<u32> {
        self.parser.link_types().to_vec()
    }

    /// (hosts whose TCP checksums were wrong in every segment as (address, segments), segments not used for a
    /// wrong checksum that matched no flow, packets with wrong IPv4 header checksums when none was right):
    /// Python's `FlowTable.checksum_report`.
    fn checksum_report<'py>(&self, py: Python<'py>) -> (Vec<(Py<PyBytes>, u64)>, u64, u64) {
        let (hosts, unmatched, ip_offloaded) = self.flows.table.checksum_report();
        (hosts.iter().map(|(a, n)| (address(py, a), *n)).collect(), unmatched, ip_offloaded)
    }

    #[getter]
    fn max_flows(&self) -> usize {
        self.flows.table.max_flows()
    }
}
