//! The file store: `STATE_DIR/checkpoints/SOURCE.json`, replaced atomically.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Checkpoint, CheckpointError, CheckpointStore, VERSION};

/// One source's checkpoint file.
#[derive(Debug, Clone)]
pub struct FileStore {
    source: String,
    path: PathBuf,
}

impl FileStore {
    pub fn new(state_dir: &Path, source: &str) -> Self {
        let path = state_dir.join("checkpoints").join(format!("{source}.json"));
        Self {
            source: source.to_owned(),
            path,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn corrupt(&self, reason: impl Into<String>) -> CheckpointError {
        CheckpointError::Corrupt {
            path: self.path.display().to_string(),
            source_name: self.source.clone(),
            reason: reason.into(),
        }
    }
}

impl CheckpointStore for FileStore {
    fn load(&self) -> Result<Option<Checkpoint>, CheckpointError> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(CheckpointError::Read {
                    path: self.path.display().to_string(),
                    source,
                });
            }
        };
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| self.corrupt(format!("not JSON: {e}")))?;
        match value.get("version").and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(VERSION) => {}
            Some(v) => {
                return Err(self.corrupt(format!("version {v} is not known; expected {VERSION}")));
            }
            None => return Err(self.corrupt("no version field")),
        }
        let checkpoint: Checkpoint =
            serde_json::from_value(value).map_err(|e| self.corrupt(e.to_string()))?;
        if checkpoint.source != self.source {
            return Err(self.corrupt(format!(
                "it belongs to source {:?}, not {:?}",
                checkpoint.source, self.source
            )));
        }
        Ok(Some(checkpoint))
    }

    fn save(&self, checkpoint: &Checkpoint) -> Result<(), CheckpointError> {
        let write_err = |source| CheckpointError::Write {
            path: self.path.display().to_string(),
            source,
        };
        let mut body = serde_json::to_vec_pretty(checkpoint).map_err(|e| write_err(e.into()))?;
        body.push(b'\n');
        write_atomically(&self.path, &body).map_err(write_err)
    }
}

/// Replaces `path` with `body` so that a crash leaves either the old or the new file:
/// write a temporary file, fsync it, rename it over the target, fsync the folder.
pub fn write_atomically(path: &Path, body: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(body)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_checkpoint_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path(), "prod");
        assert_eq!(store.load().unwrap(), None);
        let cp = Checkpoint::new("prod", 42, Some("2020-01-01T00:00:00.000Z".into()));
        store.save(&cp).unwrap();
        assert_eq!(store.load().unwrap(), Some(cp));
    }

    #[test]
    fn a_torn_file_is_an_error_not_a_fresh_start() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path(), "prod");
        store.save(&Checkpoint::new("prod", 42, None)).unwrap();
        let body = fs::read(store.path()).unwrap();
        fs::write(store.path(), &body[..body.len() / 2]).unwrap();
        let err = store.load().unwrap_err().to_string();
        assert!(err.contains("corrupt"), "{err}");
        assert!(
            err.contains("checkpoint set --config FILE --source prod"),
            "{err}"
        );
    }

    #[test]
    fn an_empty_file_an_unknown_version_and_another_source_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path(), "prod");
        fs::create_dir_all(store.path().parent().unwrap()).unwrap();
        for body in [
            "",
            r#"{"version":2,"source":"prod","last_event_id":1,"updated_at":"x"}"#,
            r#"{"version":1,"source":"other","last_event_id":1,"updated_at":"x"}"#,
            r#"{"version":1,"source":"prod","last_event_id":-1,"updated_at":"x"}"#,
        ] {
            fs::write(store.path(), body).unwrap();
            assert!(
                matches!(store.load(), Err(CheckpointError::Corrupt { .. })),
                "{body}"
            );
        }
    }
}
