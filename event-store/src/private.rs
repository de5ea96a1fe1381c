//! Embedded mode's data folder readable by its owner only: the folder 0700, the SQLite
//! database and the key files 0600 (SQLite gives the `-wal` and `-shm` files it makes the mode
//! of the database file). Created that way, and tightened at start-up when an older version
//! left them readable by others, with a warning for each one tightened. Elsewhere than Unix
//! these are no-ops: there the folder's access control list decides.

use std::io;
use std::path::Path;

/// The mode of the data folder.
pub const FOLDER_MODE: u32 = 0o700;
/// The mode of every file in it.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir`, and any missing parent, readable by its owner only. An existing folder is
/// left as it is (see [`secure_sqlite`] for when it is tightened).
pub fn create_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(FOLDER_MODE)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Tightens an existing file to 0600 (a missing one stays missing).
pub fn tighten_file(path: &Path) -> io::Result<()> {
    tighten(path, FILE_MODE)
}

/// Before SQLite opens `db`: its folder created or tightened, the database file created empty
/// with mode 0600 when missing (SQLite would create it 0644 under the usual umask, and its WAL
/// and shared-memory files after it), and the files SQLite keeps beside it tightened.
///
/// An existing folder is tightened only when it holds nothing but these files and key files:
/// a database put in a folder shared with other things (the working directory, `/var/lib`)
/// leaves that folder's mode to its owner.
pub(crate) fn secure_sqlite(db: &Path) -> io::Result<()> {
    let dir = db
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_dir(dir)?;
    let name = db
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let beside = |suffix: &str| format!("{name}{suffix}");
    let ours = |file: &str| {
        file == name
            || [beside("-wal"), beside("-shm"), beside("-journal")]
                .iter()
                .any(|f| f == file)
            || file.ends_with(".key")
    };
    if only_ours(dir, ours)? {
        tighten(dir, FOLDER_MODE)?;
    }
    create_private_file(db)?;
    for file in [
        db.to_path_buf(),
        dir.join(beside("-wal")),
        dir.join(beside("-shm")),
    ] {
        tighten_file(&file)?;
    }
    tighten_file(&dir.join(beside("-journal")))
}

fn only_ours(dir: &Path, ours: impl Fn(&str) -> bool) -> io::Result<bool> {
    for entry in std::fs::read_dir(dir)? {
        if !ours(&entry?.file_name().to_string_lossy()) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// An empty file with mode 0600, unless one is there already.
fn create_private_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(FILE_MODE);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(unix)]
fn tighten(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let was = match std::fs::metadata(path) {
        Ok(meta) => meta.permissions().mode() & 0o777,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if was & !mode == 0 {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(was & mode))?;
    tracing::warn!(
        "{} was readable by others (mode {was:o}, left by an older version or by hand); now {:o}",
        path.display(),
        was & mode
    );
    Ok(())
}

#[cfg(not(unix))]
fn tighten(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
    }

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[test]
    fn a_new_folder_and_database_are_created_for_their_owner_only() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let db = tmp.path().join("a/data/salesbot.db");
        secure_sqlite(&db).expect("secured");
        assert_eq!(mode(&tmp.path().join("a/data")), 0o700);
        assert_eq!(mode(&db), 0o600);
        assert_eq!(std::fs::metadata(&db).expect("stat").len(), 0, "empty");
    }

    #[test]
    fn loose_files_of_an_older_version_are_tightened() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        std::fs::create_dir(&data).expect("mkdir");
        chmod(&data, 0o755);
        for name in [
            "salesbot.db",
            "salesbot.db-wal",
            "salesbot.db-shm",
            "master.key",
        ] {
            std::fs::write(data.join(name), b"").expect("write");
            chmod(&data.join(name), 0o644);
        }
        secure_sqlite(&data.join("salesbot.db")).expect("secured");
        assert_eq!(mode(&data), 0o700);
        for name in ["salesbot.db", "salesbot.db-wal", "salesbot.db-shm"] {
            assert_eq!(mode(&data.join(name)), 0o600, "{name}");
        }
        tighten_file(&data.join("master.key")).expect("tightened");
        assert_eq!(mode(&data.join("master.key")), 0o600);
        chmod(&data.join("master.key"), 0o400);
        tighten_file(&data.join("master.key")).expect("tightened");
        assert_eq!(mode(&data.join("master.key")), 0o400, "never loosened");
    }

    #[test]
    fn a_folder_shared_with_other_files_keeps_its_mode() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let shared = tmp.path().join("shared");
        std::fs::create_dir(&shared).expect("mkdir");
        std::fs::write(shared.join("notes.txt"), b"mine").expect("write");
        chmod(&shared, 0o755);
        secure_sqlite(&shared.join("salesbot.db")).expect("secured");
        assert_eq!(mode(&shared), 0o755, "not ours to choose");
        assert_eq!(mode(&shared.join("salesbot.db")), 0o600);
    }
}
