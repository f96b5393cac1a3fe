//! The embedded durable store: one SQLite file, in write-ahead-log mode, synced at every
//! commit, with concurrent writes sharing commits.

mod claims;
mod commit;
mod errors;
mod migrate;
mod rows;
mod schema;

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use rusqlite::Connection;

use self::claims::Claims;
use self::commit::{Committer, Write, Written};
use self::errors::store_error;
use self::rows::{Head, ReadError};
use super::{
    Answer, Claim, Claimed, Commit, Committed, CreatedOrPosted, Due, FlowVersion, InboxItem, Lease,
    Message, MessageId, Record, Snapshot, Status, Store, StoreError, Summary, Wake, Watch,
};
use crate::InstanceId;

/// Instances in one SQLite file: durable, with no server.
///
/// Every write is on disk before it is acknowledged (write-ahead log, `synchronous = FULL`),
/// and writes from concurrent instances share commits: while one commit is being synced,
/// the writes that arrive wait and go together in the next, one transaction and one sync for
/// all of them.
///
/// A file is used by one process at a time (a second process gets [`StoreError::Locked`]),
/// so no instance is ever driven twice. A file this library did not write, a damaged or
/// truncated file, a read-only file and a full disk each give their own [`StoreError`].
///
/// ```
/// use std::sync::Arc;
/// use workflow_core::store::{SqliteStore, Store};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let store = Arc::new(SqliteStore::open(dir.path().join("orders.sqlite"))?);
/// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// # rt.block_on(async {
/// assert!(store.list("Order").await?.is_empty());
/// # Ok::<_, workflow_core::store::StoreError>(())
/// # })?;
/// // `Runtime::with_store(activities, store)` runs a flow on it; `resume` carries on with
/// // the instances a previous process left unfinished.
/// # Ok(())
/// # }
/// ```
pub struct SqliteStore {
    committer: Arc<Committer>,
    claims: Arc<Claims>,
    watch: Watch,
    /// `None` once the store is closed.
    reader: Arc<Mutex<Option<Connection>>>,
    path: PathBuf,
    /// Held while the store is open: the operating system releases it when the process ends,
    /// however it ends.
    _lock: File,
}

/// How to open a [`SqliteStore`].
///
/// ```
/// use workflow_core::store::SqliteOptions;
///
/// let options = SqliteOptions::new().max_size(64 * 1024 * 1024);
/// ```
#[derive(Debug, Clone, Default)]
pub struct SqliteOptions {
    max_size: Option<u64>,
    skip_integrity_check: bool,
}

impl SqliteOptions {
    /// The defaults: no size limit, and every page checked when the store opens.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Caps the file at about `bytes`: a write that would grow it further fails with
    /// [`StoreError::Full`], as on a full disk, and writes nothing.
    #[must_use]
    pub const fn max_size(mut self, bytes: u64) -> Self {
        self.max_size = Some(bytes);
        self
    }

    /// Skips the integrity check of every page when the store opens (it reads the whole
    /// file: for a large file, seconds). Damage is then found when it is read.
    #[must_use]
    pub const fn skip_integrity_check(mut self) -> Self {
        self.skip_integrity_check = true;
        self
    }
}

/// How a [`SqliteStore`] has committed so far: with many instances writing at once, `writes`
/// is much larger than `commits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteStats {
    /// Commits, each one sync of the log to disk.
    pub commits: u64,
    /// Writes (instance creations and transitions) those commits held.
    pub writes: u64,
}

impl SqliteStore {
    /// Opens the store at `path`, creating the file if it does not exist. Blocks while it
    /// opens and checks the file.
    ///
    /// # Errors
    ///
    /// [`StoreError::Foreign`] for a database this library did not write,
    /// [`StoreError::Version`] for one written by a newer version, [`StoreError::Corrupt`] for
    /// a damaged, truncated or non-database file, [`StoreError::ReadOnly`] for a file that
    /// cannot be written, [`StoreError::Locked`] if another process has it open. The file is
    /// left as it was.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, &SqliteOptions::new())
    }

    /// Opens the store at `path` with `options`.
    ///
    /// # Errors
    ///
    /// As [`SqliteStore::open`].
    pub fn open_with(path: impl AsRef<Path>, options: &SqliteOptions) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Ok(metadata) = std::fs::metadata(&path)
            && metadata.permissions().readonly()
        {
            return Err(StoreError::ReadOnly {
                path,
                reason: "the file is marked read-only".to_string(),
            });
        }
        let lock = lock(&path)?;
        // Checked before anything is written: a file that is not ours is left untouched.
        let mut writer = schema::connect(&path)?;
        if !options.skip_integrity_check {
            schema::check_integrity(&writer, &path)?;
        }
        schema::prepare(&mut writer, &path)?;
        schema::make_durable(&writer, &path)?;
        if let Some(bytes) = options.max_size {
            let page_size: i64 = writer
                .pragma_query_value(None, "page_size", |row| row.get(0))
                .map_err(|e| store_error(e, &path))?;
            let pages = bytes / u64::try_from(page_size).unwrap_or(4096).max(1);
            writer
                .pragma_update(
                    None,
                    "max_page_count",
                    i64::try_from(pages).unwrap_or(i64::MAX),
                )
                .map_err(|e| store_error(e, &path))?;
        }
        let reader = schema::connect(&path)?;
        schema::make_durable(&reader, &path)?;
        let claims = Arc::new(Claims::default());
        Ok(Self {
            committer: Arc::new(Committer::new(writer, Arc::clone(&claims), path.clone())),
            claims,
            watch: Watch::new(),
            reader: Arc::new(Mutex::new(Some(reader))),
            path,
            _lock: lock,
        })
    }

    /// The file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Commits so far, and the writes they held.
    #[must_use]
    pub fn stats(&self) -> SqliteStats {
        let (commits, writes) = self.committer.counts();
        SqliteStats { commits, writes }
    }

    /// Runs `read` on the reader connection, on tokio's blocking pool.
    async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, ReadError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let reader = Arc::clone(&self.reader);
        let path = self.path.clone();
        let result = tokio::task::spawn_blocking(move || {
            let conn = reader.lock().unwrap_or_else(PoisonError::into_inner);
            match conn.as_ref() {
                Some(conn) => read(conn),
                None => Err(ReadError::Store(StoreError::Closed)),
            }
        })
        .await
        .map_err(|e| StoreError::Backend(Box::new(e)))?;
        result.map_err(|error| match error {
            ReadError::Sqlite(error) => store_error(error, &path),
            ReadError::Store(error) => error,
        })
    }
}

impl Drop for SqliteStore {
    /// Closes the file: when the store is gone, so are its connections (after the commit in
    /// progress, if any), and the file can be copied, moved or opened again at once.
    fn drop(&mut self) {
        self.committer.close();
        drop(
            self.reader
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// Takes the lock file next to `path` (`<file>-lock`), so that one process at a time uses it.
fn lock(path: &Path) -> Result<File, StoreError> {
    let mut name = path.as_os_str().to_owned();
    name.push("-lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&name)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                StoreError::ReadOnly {
                    path: path.to_path_buf(),
                    reason: format!("its lock file cannot be created: {e}"),
                }
            }
            _ => StoreError::Backend(Box::new(e)),
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked {
            path: path.to_path_buf(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Backend(Box::new(e))),
    }
}

impl SqliteStore {
    /// Instance `id` of `flow`, with its unanswered messages.
    async fn load_with_inbox(
        &self,
        flow: &str,
        id: &InstanceId,
    ) -> Result<Option<(Head, Snapshot, Vec<InboxItem>)>, StoreError> {
        let (flow, id) = (flow.to_string(), id.as_str().to_string());
        self.read(move |conn| {
            let Some((head, snapshot)) = rows::load(conn, &flow, &id)? else {
                return Ok(None);
            };
            let inbox = rows::inbox(conn, &flow, &id, head.num)?;
            Ok(Some((head, snapshot, inbox)))
        })
        .await
    }

    /// Tells hosts that `claim` was handed back with work due at once.
    fn released(&self, claim: &Claim, head: Option<Head>) {
        if head.is_some_and(|head| head.status == Status::Running && head.wake == Some(0)) {
            self.watch.released(claim);
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn create(
        &self,
        snapshot: Snapshot,
        record: Record,
        wake: Wake,
        lease: Option<&Lease>,
    ) -> Result<Option<Claim>, StoreError> {
        let (flow, id) = (snapshot.flow.clone(), snapshot.id.clone());
        let written = self
            .committer
            .write(Write::Create {
                snapshot: Box::new(snapshot),
                record,
                wake,
                lease: lease.cloned(),
                first: None,
            })
            .await?;
        let Written::Created(claim) = written else {
            return Err(StoreError::Backend(
                "the writer answered another write".into(),
            ));
        };
        self.watch.created(&flow, &id, claim.is_some());
        Ok(claim)
    }

    async fn create_or_post(
        &self,
        snapshot: Snapshot,
        record: Record,
        wake: Wake,
        lease: Option<&Lease>,
        message: Message,
        at_ms: u64,
    ) -> Result<CreatedOrPosted, StoreError> {
        let (flow, id) = (snapshot.flow.clone(), snapshot.id.clone());
        let written = self
            .committer
            .write(Write::Create {
                snapshot: Box::new(snapshot),
                record,
                wake,
                lease: lease.cloned(),
                first: Some((message, at_ms)),
            })
            .await?;
        let done = match written {
            Written::CreatedWith(claim, message) => CreatedOrPosted::Created { claim, message },
            Written::Posted(message) => CreatedOrPosted::Posted(message),
            _ => {
                return Err(StoreError::Backend(
                    "the writer answered another write".into(),
                ));
            }
        };
        if let CreatedOrPosted::Created { claim, .. } = &done {
            self.watch.created(&flow, &id, claim.is_some());
        }
        self.watch.posted(&flow, &id);
        Ok(done)
    }

    async fn claim(
        &self,
        flow: &str,
        id: &InstanceId,
        lease: &Lease,
    ) -> Result<Option<Claimed>, StoreError> {
        if !self.claims.may_take(flow, id, lease) {
            return Ok(None);
        }
        let Some((head, snapshot, inbox)) = self.load_with_inbox(flow, id).await? else {
            return Err(StoreError::NotFound {
                flow: flow.to_string().into(),
                id: id.clone(),
            });
        };
        if head.status.is_finished() {
            return Ok(None);
        }
        Ok(self
            .claims
            .take(&snapshot.flow.clone(), id, lease, head)
            .map(|claim| Claimed::new(claim, snapshot, inbox)))
    }

    async fn claim_due(
        &self,
        flows: &[FlowVersion],
        lease: &Lease,
        limit: usize,
    ) -> Result<Due, StoreError> {
        let now = i64::try_from(lease.now_ms).unwrap_or(i64::MAX);
        let [now_due, with_messages] = self.read(move |conn| rows::due(conn, now)).await?;
        // Fingerprints as the rows hold them, written once.
        let versions: Vec<(&str, String)> = flows
            .iter()
            .map(|v| (&*v.name, v.fingerprint.to_string()))
            .collect();
        let ours = |flow: &str, fingerprint: &str| {
            versions
                .iter()
                .any(|(name, stored)| *name == flow && stored == fingerprint)
        };
        let mut due = Due::default();
        let mut seen = std::collections::HashSet::new();
        for candidate in now_due.into_iter().chain(with_messages) {
            if due.claimed.len() + due.unreadable.len() >= limit {
                break;
            }
            let id = InstanceId::new(candidate.id.as_str());
            if !ours(&candidate.flow, &candidate.fingerprint)
                || !seen.insert((candidate.flow.clone(), candidate.id.clone()))
                || !self.claims.may_take(&candidate.flow, &id, lease)
            {
                continue;
            }
            match self.load_with_inbox(&candidate.flow, &id).await {
                Ok(Some((head, snapshot, inbox))) if !head.status.is_finished() => {
                    let flow = snapshot.flow.clone();
                    if let Some(claim) = self.claims.take(&flow, &id, lease, head) {
                        due.claimed.push(Claimed::new(claim, snapshot, inbox));
                    }
                }
                Ok(_) => {}
                Err(error @ StoreError::Corrupt(_)) => {
                    let unread = Head {
                        num: -1,
                        seq: 0,
                        wake: None,
                        status: Status::Running,
                    };
                    if let Some(claim) =
                        self.claims
                            .take(&candidate.flow.clone().into(), &id, lease, unread)
                    {
                        due.unreadable.push((claim, error));
                    }
                }
                Err(error) => return Err(error),
            }
        }
        // The earliest future wake among instances this worker may run, looking past the
        // others (other flows, other versions, claimed) a page at a time.
        let mut next = None;
        let (mut after_ms, mut after_num) = (now, i64::MAX);
        'pages: loop {
            let page = self
                .read(move |conn| rows::later(conn, after_ms, after_num, 256))
                .await?;
            let full = page.len() == 256;
            for candidate in page {
                (after_ms, after_num) = (candidate.wake.unwrap_or(i64::MAX), candidate.num);
                let id = InstanceId::new(candidate.id.as_str());
                if ours(&candidate.flow, &candidate.fingerprint)
                    && self.claims.may_take(&candidate.flow, &id, lease)
                {
                    next = candidate.wake.and_then(|at| u64::try_from(at).ok());
                    break 'pages;
                }
            }
            if !full {
                break;
            }
        }
        due.next_ms = match (next, self.claims.earliest_other(flows, lease)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(due)
    }

    async fn commit(&self, claim: &Claim, commit: Commit) -> Result<(), StoreError> {
        let told = Committed::of(&commit);
        self.committer
            .write(Write::Commit {
                claim: claim.clone(),
                commit,
            })
            .await?;
        self.watch.committed(claim, &told);
        Ok(())
    }

    async fn renew(&self, claims: &[Claim], lease: &Lease) -> Result<Vec<Claim>, StoreError> {
        Ok(self.claims.renew(claims, lease))
    }

    async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        let head = self.claims.release(claim);
        self.released(claim, head);
        Ok(())
    }

    async fn post(
        &self,
        flow: &str,
        id: &InstanceId,
        message: Message,
        at_ms: u64,
    ) -> Result<MessageId, StoreError> {
        let written = self
            .committer
            .write(Write::Post {
                flow: flow.to_string(),
                id: id.clone(),
                message,
                at_ms,
            })
            .await?;
        let Written::Posted(message) = written else {
            return Err(StoreError::Backend(
                "the writer answered another write".into(),
            ));
        };
        self.watch.posted(flow, id);
        Ok(message)
    }

    async fn answer(
        &self,
        flow: &str,
        id: &InstanceId,
        message: MessageId,
    ) -> Result<Option<Answer>, StoreError> {
        let (flow, id) = (flow.to_string(), id.as_str().to_string());
        self.read(move |conn| rows::answer(conn, &flow, &id, message))
            .await
    }

    async fn inbox(&self, flow: &str, id: &InstanceId) -> Result<Vec<InboxItem>, StoreError> {
        let (flow, id) = (flow.to_string(), id.as_str().to_string());
        self.read(move |conn| rows::inbox_of(conn, &flow, &id))
            .await
    }

    async fn load(&self, flow: &str, id: &InstanceId) -> Result<Option<Snapshot>, StoreError> {
        let (flow, id) = (flow.to_string(), id.as_str().to_string());
        self.read(move |conn| Ok(rows::load(conn, &flow, &id)?.map(|(_, snapshot)| snapshot)))
            .await
    }

    async fn list(&self, flow: &str) -> Result<Vec<Summary>, StoreError> {
        let flow = flow.to_string();
        self.read(move |conn| rows::list(conn, &flow)).await
    }

    async fn unfinished(&self, flow: &str) -> Result<Vec<Summary>, StoreError> {
        let flow = flow.to_string();
        self.read(move |conn| rows::unfinished(conn, &flow)).await
    }

    async fn history(&self, flow: &str, id: &InstanceId) -> Result<Vec<Record>, StoreError> {
        let (flow, id) = (flow.to_string(), id.as_str().to_string());
        self.read(move |conn| rows::history(conn, &flow, &id)).await
    }

    fn watch(&self) -> &Watch {
        &self.watch
    }
}
