//! Group commit: writes that arrive while a commit is on its way to disk wait for the next
//! one and go together, in one transaction and one sync of the log. Each write is
//! acknowledged only once the commit that holds it has returned, so it is on disk, and each
//! runs in a savepoint of its own: a write the store refuses (or that holds a value SQLite
//! cannot) fails alone, and the others go ahead.
//!
//! On a multi-thread tokio runtime the commits are made by a thread of the store's own, so
//! no runtime worker is held while the log syncs; on a current-thread runtime they are made
//! on tokio's blocking pool (a blocking task also tells a paused test clock that work is in
//! progress, so virtual time does not jump ahead while a write is on its way to disk).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;
use tokio::runtime::RuntimeFlavor;
use tokio::sync::oneshot;

use super::claims::Claims;
use super::errors::shared_error;
use super::rows::{self, Head, Refusal};
use crate::InstanceId;
use crate::store::{Claim, Commit, Lease, Message, MessageId, Record, Snapshot, StoreError, Wake};

/// A write waiting for a commit.
pub(super) enum Write {
    /// With a first message (and its time), an instance that exists gets the message
    /// posted instead.
    Create {
        snapshot: Box<Snapshot>,
        record: Record,
        wake: Wake,
        lease: Option<Lease>,
        first: Option<(Message, u64)>,
    },
    Commit {
        claim: Claim,
        commit: Commit,
    },
    Post {
        flow: String,
        id: InstanceId,
        message: Message,
        at_ms: u64,
    },
}

/// What a write did.
pub(super) enum Written {
    Created(Option<Claim>),
    /// Created with its first message.
    CreatedWith(Option<Claim>, MessageId),
    Committed,
    Posted(MessageId),
}

struct Job {
    write: Write,
    done: oneshot::Sender<Result<Written, StoreError>>,
}

/// Writes waiting, and whether a commit is running (which then takes them too).
#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    committing: bool,
    /// The store's own thread is waiting for work.
    thread: bool,
    closed: bool,
}

/// The store's writing side: its own connection, and the writes waiting for it.
pub(super) struct Committer {
    /// `None` once the store is closed.
    conn: Mutex<Option<Connection>>,
    queue: Mutex<Queue>,
    /// Wakes the store's own thread.
    work: Condvar,
    claims: Arc<Claims>,
    path: PathBuf,
    commits: AtomicU64,
    writes: AtomicU64,
}

impl Committer {
    pub(super) fn new(conn: Connection, claims: Arc<Claims>, path: PathBuf) -> Self {
        Self {
            conn: Mutex::new(Some(conn)),
            queue: Mutex::default(),
            work: Condvar::new(),
            claims,
            path,
            commits: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        }
    }

    /// Closes the connection, once the commit in progress (if any) is done, and stops the
    /// store's thread.
    pub(super) fn close(&self) {
        self.queue().closed = true;
        self.work.notify_all();
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
    pub(super) async fn write(self: &Arc<Self>, write: Write) -> Result<Written, StoreError> {
        let (done, committed) = oneshot::channel();
        let multi_thread =
            tokio::runtime::Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread;
        let start = {
            let mut queue = self.queue();
            if queue.closed {
                return Err(StoreError::Closed);
            }
            queue.jobs.push(Job { write, done });
            let start = !std::mem::replace(&mut queue.committing, true);
            if start && multi_thread && !queue.thread {
                queue.thread = true;
                let writer = Arc::clone(self);
                let spawned = std::thread::Builder::new()
                    .name("workflow-sqlite-writer".to_string())
                    .spawn(move || writer.writer_thread());
                if spawned.is_err() {
                    queue.thread = false;
                }
            }
            start
        };
        if start {
            if multi_thread && self.queue().thread {
                self.work.notify_one();
            } else {
                let batches = Batches {
                    committer: Arc::clone(self),
                    finished: false,
                };
                tokio::task::spawn_blocking(move || batches.run());
            }
        }
        committed.await.unwrap_or(Err(StoreError::Closed))
    }

    /// The store's own thread: commits whenever writes wait, until the store closes.
    fn writer_thread(self: Arc<Self>) {
        loop {
            {
                let mut queue = self.queue();
                while !(queue.committing || queue.closed) {
                    queue = self
                        .work
                        .wait(queue)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                if queue.closed && !queue.committing {
                    return;
                }
            }
            Batches {
                committer: Arc::clone(&self),
                finished: false,
            }
            .run();
        }
    }

    /// Commits `jobs` in one transaction and tells each how it went.
    fn commit(&self, jobs: Vec<Job>) {
        let (writes, replies): (Vec<Write>, Vec<_>) =
            jobs.into_iter().map(|job| (job.write, job.done)).unzip();
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(conn) = conn.as_mut() else {
            for reply in replies {
                let _ = reply.send(Err(StoreError::Closed));
            }
            return;
        };
        let answers = match commit_all(conn, &self.claims, &writes, &self.path) {
            Ok(outcomes) => {
                self.commits.fetch_add(1, Ordering::Relaxed);
                self.writes
                    .fetch_add(writes.len() as u64, Ordering::Relaxed);
                writes
                    .iter()
                    .zip(outcomes)
                    .map(|(write, outcome)| self.settle(write, outcome))
                    .collect()
            }
            // SQLite failed: the transaction rolled back, and every write in it failed.
            Err(error) => writes
                .iter()
                .map(|_| Err(shared_error(&error, &self.path)))
                .collect::<Vec<_>>(),
        };
        for (reply, answer) in replies.into_iter().zip(answers) {
            // The writer may have stopped waiting (its task was dropped): nothing to tell.
            let _ = reply.send(answer);
        }
    }

    /// What a committed write did, with the claims brought up to date.
    fn settle(
        &self,
        write: &Write,
        outcome: Result<Done, StoreError>,
    ) -> Result<Written, StoreError> {
        match (write, outcome?) {
            (
                Write::Create {
                    snapshot, lease, ..
                },
                Done::Head(head),
            ) => Ok(Written::Created(lease.as_ref().and_then(|lease| {
                self.claims.take(&snapshot.flow, &snapshot.id, lease, head)
            }))),
            (
                Write::Create {
                    snapshot, lease, ..
                },
                Done::CreatedWith(head, message),
            ) => {
                let claim = lease
                    .as_ref()
                    .and_then(|lease| self.claims.take(&snapshot.flow, &snapshot.id, lease, head));
                Ok(Written::CreatedWith(claim, message))
            }
            (Write::Commit { claim, commit }, Done::Head(head)) => {
                let ended = commit.release || commit.snapshot.status.is_finished();
                self.claims.written(claim, head, ended);
                Ok(Written::Committed)
            }
            (_, Done::Posted(message)) => Ok(Written::Posted(message)),
            (_, Done::Head(_) | Done::CreatedWith(..)) => Ok(Written::Committed),
        }
    }
}

/// What one write did inside the transaction.
enum Done {
    Head(Head),
    /// Created, and its first message posted.
    CreatedWith(Head, MessageId),
    Posted(MessageId),
}

/// Writes each of `writes` in one transaction, each in a savepoint: each gets its answer (a
/// refused write wrote nothing), unless SQLite itself fails, which rolls everything back.
fn commit_all(
    conn: &Connection,
    claims: &Claims,
    writes: &[Write],
    path: &Path,
) -> Result<Vec<Result<Done, StoreError>>, rusqlite::Error> {
    // Prepared once and kept, like every statement here: parsing them again at each commit
    // costs a tenth of a commit.
    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let written = write_all(conn, claims, writes, path).and_then(|answers| {
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
    claims: &Claims,
    writes: &[Write],
    path: &Path,
) -> Result<Vec<Result<Done, StoreError>>, rusqlite::Error> {
    let mut answers = Vec::with_capacity(writes.len());
    for write in writes {
        conn.prepare_cached("SAVEPOINT write")?.execute([])?;
        let result = match write {
            Write::Create {
                snapshot,
                record,
                wake,
                first,
                ..
            } => create(conn, snapshot, record, *wake, first.as_ref()),
            Write::Commit { claim, commit } => match claims.head(claim) {
                Ok(head) => rows::commit(conn, &head, commit)
                    .map(Done::Head)
                    .map_err(|refusal| conflict(refusal, &commit.snapshot)),
                Err(lost) => Err(Refusal::Store(lost)),
            },
            Write::Post {
                flow,
                id,
                message,
                at_ms,
            } => rows::post(conn, flow, id, message, *at_ms).map(Done::Posted),
        };
        match result {
            Ok(done) => {
                conn.prepare_cached("RELEASE write")?.execute([])?;
                answers.push(Ok(done));
            }
            Err(refusal) => {
                if conn.is_autocommit() {
                    // SQLite rolled the whole transaction back (a full disk, an I/O error).
                    return Err(match refusal {
                        Refusal::Sqlite(error) => error,
                        Refusal::Store(_) => rusqlite::Error::ExecuteReturnedResults,
                    });
                }
                conn.prepare_cached("ROLLBACK TO write")?.execute([])?;
                conn.prepare_cached("RELEASE write")?.execute([])?;
                answers.push(Err(match refusal {
                    Refusal::Store(error) => error,
                    Refusal::Sqlite(error) => super::errors::store_error(error, path),
                }));
            }
        }
    }
    Ok(answers)
}

/// Creates an instance; with a first message, posts it too, or only posts it if the instance
/// exists.
fn create(
    conn: &Connection,
    snapshot: &Snapshot,
    record: &Record,
    wake: Wake,
    first: Option<&(Message, u64)>,
) -> Result<Done, Refusal> {
    let created = rows::create(conn, snapshot, record, wake);
    let Some((message, at_ms)) = first else {
        return created.map(Done::Head);
    };
    let post = || rows::post(conn, &snapshot.flow, &snapshot.id, message, *at_ms);
    match created {
        Ok(head) => Ok(Done::CreatedWith(head, post()?)),
        Err(Refusal::Store(StoreError::Duplicate { .. })) => post().map(Done::Posted),
        Err(refusal) => Err(refusal),
    }
}

/// A write that collides with a journal row already there came second.
fn conflict(refusal: Refusal, snapshot: &Snapshot) -> Refusal {
    match refusal {
        Refusal::Sqlite(error)
            if error.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) =>
        {
            Refusal::Store(StoreError::Conflict {
                id: snapshot.id.clone(),
                expected: snapshot.seq,
                found: snapshot.seq,
            })
        }
        other => other,
    }
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
            let _ = job.done.send(Err(StoreError::Closed));
        }
    }
}
