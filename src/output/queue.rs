//! The write queue: output files written on a thread of their own ([`WriteQueue`]), one after
//! another in the order they were computed, while the cores compute the next slice.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::thread::JoinHandle;

use crate::error::{Error, Result};

/// Work for the [`WriteQueue`]'s thread.
pub type Job = Box<dyn FnOnce() -> Result<()> + Send>;

/// Output files written on a thread of their own, one after another in the order they were
/// computed: the cores compute the next slice while the file system takes this one (creating
/// the file, reserving its space, copying its pages, renaming it), where writing it in line
/// would leave a core idle. At most `depth` jobs wait, so memory stays bounded. The first job
/// that fails stops the thread; its error is returned by the next call.
pub struct WriteQueue<T: Send + 'static> {
    jobs: Option<SyncSender<(Option<T>, Job)>>,
    done: Receiver<Result<Option<T>>>,
    thread: Option<JoinHandle<()>>,
    /// Jobs sent and not yet reported done.
    pending: usize,
    /// Named in the error if the thread stops without one.
    root: PathBuf,
    /// A job's error, held back while the jobs done before it are reported.
    failed: Option<Error>,
}

impl<T: Send + 'static> WriteQueue<T> {
    /// A writer thread for outputs under `root`, with at most `depth` jobs waiting.
    pub fn new(root: &Path, depth: usize) -> Result<Self> {
        let (jobs, queue) = mpsc::sync_channel::<(Option<T>, Job)>(depth);
        let (report, done) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("ctpyramid-writer".into())
            .spawn(move || {
                for (tag, job) in queue {
                    let outcome = job().map(|()| tag);
                    let failed = outcome.is_err();
                    if report.send(outcome).is_err() || failed {
                        // Jobs still queued are dropped unrun: their files were never created.
                        break;
                    }
                }
            })
            .map_err(|e| Error::write(root, e))?;
        Ok(WriteQueue {
            jobs: Some(jobs),
            done,
            thread: Some(thread),
            pending: 0,
            root: root.to_path_buf(),
            failed: None,
        })
    }

    /// Queues `job`, waiting while the queue is full. Returns the tags of the jobs that
    /// completed since the last call, in order (`tag` None: nothing to report, such as
    /// unmapping an input the cascade is done with).
    pub fn submit(&mut self, tag: Option<T>, job: Job) -> Result<Vec<T>> {
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|j| j.send((tag, job)).is_ok());
        if !sent {
            // The thread stopped on an error: report the jobs done before it, then the error.
            let tags = self.collect(true)?;
            if self.failed.is_none() {
                self.failed = Some(self.stopped());
            }
            return Ok(tags);
        }
        self.pending += 1;
        self.collect(false)
    }

    /// Waits for every queued job; returns the tags of those not reported yet.
    pub fn finish(&mut self) -> Result<Vec<T>> {
        self.collect(true)
    }

    /// Waits for the oldest queued job only (none: returns at once); returns its tag, if
    /// any, and those of the jobs reported since the last call.
    #[cfg_attr(not(feature = "ome-zarr"), allow(dead_code))] // the OME-Zarr slabs' alone
    pub fn finish_one(&mut self) -> Result<Vec<T>> {
        let mut tags = self.collect(false)?;
        if self.pending == 0 || !tags.is_empty() {
            return Ok(tags);
        }
        match self.done.recv() {
            Ok(Ok(tag)) => {
                self.pending -= 1;
                tags.extend(tag);
                Ok(tags)
            }
            Ok(Err(error)) => Err(error),
            Err(_) => Err(self.stopped()),
        }
    }

    /// Jobs queued and not reported done yet.
    #[cfg_attr(not(feature = "ome-zarr"), allow(dead_code))] // the OME-Zarr slabs' alone
    pub fn pending(&self) -> usize {
        self.pending
    }

    fn collect(&mut self, wait: bool) -> Result<Vec<T>> {
        if let Some(error) = self.failed.take() {
            return Err(error);
        }
        let mut tags = Vec::new();
        while self.pending > 0 {
            let outcome = if wait {
                self.done.recv().map_err(|_| TryRecvError::Disconnected)
            } else {
                self.done.try_recv()
            };
            match outcome {
                Ok(Ok(tag)) => {
                    self.pending -= 1;
                    tags.extend(tag);
                }
                Ok(Err(error)) if tags.is_empty() => return Err(error),
                Ok(Err(error)) => {
                    self.failed = Some(error);
                    break;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return Err(self.stopped()),
            }
        }
        Ok(tags)
    }

    fn stopped(&self) -> Error {
        Error::write(
            &self.root,
            std::io::Error::other("the writer thread stopped"),
        )
    }
}

impl<T: Send + 'static> Drop for WriteQueue<T> {
    /// Lets the queued jobs finish (each leaves its file complete or absent), then joins.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn job(ran: &Arc<AtomicUsize>, fail: bool) -> Job {
        let ran = ran.clone();
        Box::new(move || {
            ran.fetch_add(1, Ordering::SeqCst);
            match fail {
                true => Err(Error::write(
                    Path::new("bad"),
                    std::io::Error::other("no room"),
                )),
                false => Ok(()),
            }
        })
    }

    #[test]
    fn writer_reports_jobs_in_order_and_stops_at_the_first_error() {
        let ran = Arc::new(AtomicUsize::new(0));
        let mut writer = WriteQueue::new(Path::new("root"), 2).unwrap();
        let mut reported = Vec::new();
        for k in 0..3 {
            reported.extend(writer.submit(Some(k), job(&ran, false)).unwrap());
        }
        reported.extend(writer.submit(None, job(&ran, false)).unwrap());
        reported.extend(writer.finish().unwrap());
        assert_eq!(reported, [0, 1, 2], "untagged jobs are not reported");

        // Job 10 fails: 11 and 12 never run; 9 is reported before the error.
        let mut outcome = Ok(());
        let mut reported = Vec::new();
        for k in 9..13 {
            match writer.submit(Some(k), job(&ran, k == 10)) {
                Ok(done) => reported.extend(done),
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        if outcome.is_ok() {
            outcome = writer.finish().map(|done| reported.extend(done));
        }
        let error = outcome.unwrap_err().to_string();
        assert!(error.contains("no room"), "{error}");
        assert_eq!(reported, [9]);
        drop(writer);
        assert_eq!(
            ran.load(Ordering::SeqCst),
            4 + 2,
            "nothing ran after the failure"
        );
    }

    #[test]
    fn finish_one_waits_for_the_oldest_job_only() {
        // The second job waits on a gate the test opens only after finish_one returned: had
        // finish_one waited for it too, the test would hang.
        let (open, gate) = mpsc::channel::<()>();
        let mut writer = WriteQueue::new(Path::new("root"), 4).unwrap();
        let mut reported = writer.submit(Some(0), Box::new(|| Ok(()))).unwrap();
        reported.extend(
            writer
                .submit(
                    Some(1),
                    Box::new(move || {
                        let _ = gate.recv();
                        Ok(())
                    }),
                )
                .unwrap(),
        );
        while reported.is_empty() {
            reported.extend(writer.finish_one().unwrap());
        }
        assert_eq!(reported, [0]);
        assert_eq!(writer.pending(), 1);
        open.send(()).unwrap();
        assert_eq!(writer.finish_one().unwrap(), [1]);
        assert_eq!(writer.pending(), 0);
        assert!(writer.finish_one().unwrap().is_empty(), "nothing pending");

        // A failing job's error comes from finish_one, in its turn.
        // (submit itself reports it if the job has already failed by then.)
        let ran = Arc::new(AtomicUsize::new(0));
        let mut outcome = writer.submit(Some(2), job(&ran, true));
        let error = loop {
            match outcome {
                Ok(done) => assert!(done.is_empty()),
                Err(e) => break e.to_string(),
            }
            outcome = writer.finish_one();
        };
        assert!(error.contains("no room"), "{error}");
    }
}
