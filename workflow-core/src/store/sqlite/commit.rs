//! Group commit: writes that arrive while a commit is on its way to disk wait for the next
//! one and go together, in one transaction and one sync of the log. Each write is
//! acknowledged only once the commit that holds it has returned, so it is on disk.
//!
//! The write that finds no commit running starts one, and commits batch after batch while
//! writes keep coming: on its own thread on a multi-thread runtime, on tokio's blocking pool
//! on a current-thread one. (A blocking task also tells a paused test clock that work is in
//! progress, so virtual time does not jump ahead while a write is on its way to disk.)

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;
use tokio::runtime::RuntimeFlavor;
use tokio::sync::oneshot;

use super::errors::shared_error;
use super::rows::{self, Refusal};
use crate::store::{Record, Snapshot, StoreError};

/// A write waiting for a commit.
pub(super) enum Write {
    Create(Snapshot, Record),
    Save(Snapshot, Record),
}

struct Job {
    write: Write,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// Writes waiting, and whether a commit is running (which then takes them too).
#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    committing: bool,
}

/// The store's writing side: its own connection, and the writes waiting for it.
pub(super) struct Committer {
    /// `None` once the store is closed.
    conn: Mutex<Option<Connection>>,
    queue: Mutex<Queue>,
    path: PathBuf,
    commits: AtomicU64,
    writes: AtomicU64,
}

impl Committer {
    pub(super) fn new(conn: Connection, path: PathBuf) -> Self {
        Self {
            conn: Mutex::new(Some(conn)),
            queue: Mutex::default(),
            path,
            commits: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        }
    }

    /// Closes the connection, once the commit in progress (if any) is done.
    pub(super) fn close(&self) {
        drop(
            self.conn
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
    }

    /// Commits made, and writes they held.
    pub(super) fn counts(&self) -> (u64, u64) {
        (
            self.commits.load(Ordering::Relaxed),
            self.writes.load(Ordering::Relaxed),
        )
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        // Each critical section is a push or a swap: a poisoned lock holds a consistent queue.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes `write` in the next commit, and resolves once that commit is on disk.
    pub(super) async fn write(self: &Arc<Self>, write: Write) -> Result<(), StoreError> {
        let (done, committed) = oneshot::channel();
        let start = {
            let mut queue = self.queue();
            queue.jobs.push(Job { write, done });
            !std::mem::replace(&mut queue.committing, true)
        };
        if start {
            let batches = Batches {
                committer: Arc::clone(self),
                finished: false,
            };
            // On a multi-thread runtime the writer commits on its own thread (tokio moves the
            // thread's other tasks elsewhere meanwhile), saving a hand-off to another thread
            // and back at every commit; a current-thread runtime has no other thread to give
            // its tasks to, so the commit goes to the blocking pool.
            if tokio::runtime::Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
                tokio::task::block_in_place(move || batches.run());
            } else {
                tokio::task::spawn_blocking(move || batches.run());
            }
        }
        committed.await.unwrap_or_else(|_| Err(closed()))
    }

    /// Commits `jobs` in one transaction and tells each how it went.
    fn commit(&self, jobs: Vec<Job>) {
        let (writes, replies): (Vec<Write>, Vec<_>) =
            jobs.into_iter().map(|job| (job.write, job.done)).unzip();
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(conn) = conn.as_mut() else {
            for reply in replies {
                let _ = reply.send(Err(closed()));
            }
            return;
        };
        let answers = match commit_all(conn, &writes) {
            Ok(answers) => {
                self.commits.fetch_add(1, Ordering::Relaxed);
                self.writes
                    .fetch_add(writes.len() as u64, Ordering::Relaxed);
                answers
            }
            // SQLite failed: the transaction rolled back, and every write in it failed.
            Err(error) => writes
                .iter()
                .map(|_| Err(shared_error(&error, &self.path)))
                .collect(),
        };
        for (reply, answer) in replies.into_iter().zip(answers) {
            // The writer may have stopped waiting (its task was dropped): nothing to tell.
            let _ = reply.send(answer);
        }
    }
}

/// The answer to a write the store could not commit because it closed first.
fn closed() -> StoreError {
    StoreError::Backend("the store closed before the write was committed".into())
}

/// Writes each of `writes` in one transaction: each gets its answer (a refused write wrote
/// nothing), unless SQLite itself fails, which rolls everything back.
fn commit_all(
    conn: &Connection,
    writes: &[Write],
) -> Result<Vec<Result<(), StoreError>>, rusqlite::Error> {
    // Prepared once and kept, like every statement here: parsing `BEGIN` and `COMMIT` again
    // at each commit costs a tenth of a commit.
    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let written = write_all(conn, writes).and_then(|answers| {
        conn.prepare_cached("COMMIT")?.execute([])?;
        Ok(answers)
    });
    if written.is_err() && !conn.is_autocommit() {
        // Nothing of the batch stays. (If even this fails, the connection rolls back when
        // it is next used: SQLite never keeps half a transaction.)
        let _ = conn.execute_batch("ROLLBACK");
    }
    written
}

fn write_all(
    conn: &Connection,
    writes: &[Write],
) -> Result<Vec<Result<(), StoreError>>, rusqlite::Error> {
    let mut answers = Vec::with_capacity(writes.len());
    for write in writes {
        let result = match write {
            Write::Create(snapshot, record) => rows::create(conn, snapshot, record),
            Write::Save(snapshot, record) => rows::save(conn, snapshot, record),
        };
        answers.push(match result {
            Ok(()) => Ok(()),
            Err(Refusal::Store(refused)) => Err(refused),
            Err(Refusal::Sqlite(error)) => return Err(error),
        });
    }
    Ok(answers)
}

/// Commits batches until no write is waiting. If it is dropped without running (the runtime
/// is shutting down), the waiting writes fail rather than wait forever.
struct Batches {
    committer: Arc<Committer>,
    finished: bool,
}

impl Batches {
    fn run(mut self) {
        loop {
            let jobs = {
                let mut queue = self.committer.queue();
                if queue.jobs.is_empty() {
                    queue.committing = false;
                    self.finished = true;
                    return;
                }
                std::mem::take(&mut queue.jobs)
            };
            self.committer.commit(jobs);
        }
    }
}

impl Drop for Batches {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let mut queue = self.committer.queue();
        queue.committing = false;
        for job in queue.jobs.drain(..) {
            let _ = job.done.send(Err(closed()));
        }
    }
}
