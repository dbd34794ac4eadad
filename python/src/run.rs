//! A job (a build, a read, a crop) on a thread of its own, the GIL released: its events
//! handed to a [`Listener`] on the calling thread, a cancel (a callback returning False,
//! raising, or Ctrl-C) seen within a second, a panic raised as a `RuntimeError`.

use std::ops::ControlFlow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use ctpyramid::progress::JsonEvents;
use ctpyramid::{Error, Event};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyBool;
use serde_json::Value;

use crate::error::to_pyerr;

/// How long the calling thread waits for the job with the GIL released before it looks
/// for signals (Ctrl-C) again: a cancel takes effect well within a second.
const TICK: Duration = Duration::from_millis(50);

/// What the job's thread reports to the calling thread.
enum Message<T> {
    Event(Value),
    /// Boxed: a result (a build's summary) is far larger than an event, and one is sent per
    /// job.
    Done(Box<Result<T, Failure>>),
}

enum Failure {
    Library(Error),
    Panic(String),
}

/// How a job ended, when it raised nothing.
pub(crate) enum Outcome<T> {
    /// It ran to the end: what it returned (a build's summary, a read's or a crop's).
    Done(T),
    /// A callback returned False and the job stopped cleanly.
    Cancelled,
}

/// The caller's side of a job: what its callbacks make of the events.
pub(crate) trait Listener {
    /// Whether to send events at all (none without a callback: the job pays nothing).
    fn wants_events(&self) -> bool;
    /// A `--progress json` object. `Break`: a callback returned False.
    fn event(&mut self, py: Python<'_>, value: Value) -> PyResult<ControlFlow<()>>;
    /// No event for a tick.
    fn tick(&mut self, py: Python<'_>) -> PyResult<ControlFlow<()>>;
}

/// Sets the job's cancel flag should the calling thread unwind (a panic): the job then stops
/// at its next check instead of running on to its end while the scope waits for it.
struct CancelOnUnwind<'a>(&'a AtomicBool);

impl Drop for CancelOnUnwind<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

/// Runs `job` (a library call whose options hold `cancel`) on a thread of its own, within
/// `threads` worker threads, while the calling thread, with the GIL released between
/// messages, hands each event to `listener` and ticks it when none came for a while. The
/// thread is scoped: `job` may borrow what the caller holds (a numpy array's memory), and
/// this returns only once it has ended, whatever happened. The listener returning `Break` (a
/// callback returned False) or failing (it raised; or Ctrl-C, seen by `check_signals`) sets
/// `cancel`; the job then stops at its next check (a build between two output files, every
/// output complete or absent; a read or a crop between two slices), and only then does this
/// return: the callback's exception, a `KeyboardInterrupt`, or `Outcome::Cancelled`. No
/// callback is called once the flag is set. A panic in the job is caught on its thread and
/// raised as a `RuntimeError`.
pub(crate) fn run<T, J>(
    py: Python<'_>,
    cancel: &AtomicBool,
    threads: Option<usize>,
    listener: &mut dyn Listener,
    job: J,
) -> PyResult<Outcome<T>>
where
    T: Send,
    J: FnOnce(&mut dyn FnMut(Event)) -> ctpyramid::Result<T> + Send,
{
    let events = listener.wants_events();
    let (tx, rx) = mpsc::channel::<Message<T>>();
    let (raised, stopped, result) = std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("ctpyramid-job".into())
            .spawn_scoped(scope, move || {
                let events_tx = tx.clone();
                let result = catch_unwind(AssertUnwindSafe(|| {
                    let mut json = JsonEvents::new();
                    let mut on_event = |event: Event| {
                        if events {
                            if let Some(value) = json.event(&event) {
                                // The receiver lives until Done is sent.
                                let _ = events_tx.send(Message::Event(value));
                            }
                        }
                    };
                    ctpyramid::with_threads(threads, || job(&mut on_event)).and_then(|done| done)
                }));
                let result = match result {
                    Ok(Ok(done)) => Ok(done),
                    Ok(Err(e)) => Err(Failure::Library(e)),
                    Err(panic) => Err(Failure::Panic(panic_text(panic.as_ref()))),
                };
                let _ = tx.send(Message::Done(Box::new(result)));
            })
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start the job's thread: {e}")))?;
        let _unwinding = CancelOnUnwind(cancel);
        let (raised, stopped, result) = listen(py, cancel, listener, rx);
        // It has sent Done: it is finishing, if not finished.
        let _ = py.detach(|| worker.join());
        Ok::<_, PyErr>((raised, stopped, result))
    })?;
    if let Some(e) = raised {
        return Err(e);
    }
    match result {
        // Asked to cancel, the job may still have finished first: cancelled all the same,
        // as the caller asked (every output is complete, and a rerun keeps them all).
        Ok(_) | Err(Failure::Library(Error::Cancelled)) if stopped => Ok(Outcome::Cancelled),
        Ok(done) => Ok(Outcome::Done(done)),
        Err(Failure::Library(e)) => Err(to_pyerr(py, e)),
        Err(Failure::Panic(text)) => Err(PyRuntimeError::new_err(format!(
            "ctpyramid: internal error (a bug, please report it): {text}"
        ))),
    }
}

/// The calling thread's side of [`run`]: the job's messages until its result. Returns what
/// the listener raised (or Ctrl-C), whether it asked to stop, and the job's result.
fn listen<T: Send>(
    py: Python<'_>,
    cancel: &AtomicBool,
    listener: &mut dyn Listener,
    rx: mpsc::Receiver<Message<T>>,
) -> (Option<PyErr>, bool, Result<T, Failure>) {
    let mut raised: Option<PyErr> = None;
    let mut stopped = false;
    let mut stop = |flow: PyResult<ControlFlow<()>>, raised: &mut Option<PyErr>| match flow {
        Ok(ControlFlow::Continue(())) => {}
        Ok(ControlFlow::Break(())) => {
            stopped = true;
            cancel.store(true, Ordering::Relaxed);
        }
        Err(e) => {
            *raised = Some(e);
            cancel.store(true, Ordering::Relaxed);
        }
    };
    let mut rx = Some(rx);
    let result = loop {
        // The receiver goes to the wait and back (a `&Receiver` cannot: it is not Sync).
        let Some(receiver) = rx.take() else {
            break Err(Failure::Panic("lost the job's channel".into()));
        };
        let (receiver, message) = py.detach(move || {
            let message = receiver.recv_timeout(TICK);
            (receiver, message)
        });
        rx = Some(receiver);
        let live = raised.is_none() && !cancel.load(Ordering::Relaxed);
        match message {
            Ok(Message::Done(result)) => break *result,
            Ok(Message::Event(value)) if live => stop(listener.event(py, value), &mut raised),
            Ok(Message::Event(_)) => {}
            Err(mpsc::RecvTimeoutError::Timeout) if live => stop(listener.tick(py), &mut raised),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                break Err(Failure::Panic(
                    "the job's thread ended without a result".into(),
                ))
            }
        }
        if raised.is_none() {
            if let Err(e) = py.check_signals() {
                stop(Err(e), &mut raised);
            }
        }
    };
    (raised, stopped, result)
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".into()
    }
}

/// Exactly `False`: CTHarvester's and ctpyramid's signal to cancel (`None`, `True` and
/// anything else go on).
pub(crate) fn is_false(value: &Bound<'_, PyAny>) -> bool {
    value.is(PyBool::new(value.py(), false).as_any())
}
