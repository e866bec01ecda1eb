//! The external corpus of real pages the bench measures: `$SLUICE_CORPUS`, else
//! `../shared/corpus` beside the project. It is not part of the repository; a `manifest.tsv`
//! lists its files (`name`, `class`, `origin_prefix`, ..., `bytes`, ...).

use std::path::{Path, PathBuf};

/// The corpus's HTML pages, read from its manifest.
///
/// ```no_run
/// let corpus = sluice_tools::corpus::Corpus::open(&sluice_tools::corpus::Corpus::default_dir())?;
/// for page in &corpus.html {
///     println!("{} ({} bytes) names {}", page.name, page.bytes, page.host);
/// }
/// # Ok::<(), String>(())
/// ```
pub struct Corpus {
    /// The folder.
    pub dir: PathBuf,
    /// Its HTML pages, in manifest order.
    pub html: Vec<CorpusPage>,
}

/// One page of the corpus.
pub struct CorpusPage {
    /// The file's name in the corpus folder.
    pub name: String,
    /// The host its URLs name (from the manifest's origin prefix).
    pub host: String,
    /// Its size.
    pub bytes: u64,
    /// Its path.
    pub path: PathBuf,
}

impl CorpusPage {
    /// The page's bytes.
    pub fn read(&self) -> std::io::Result<Vec<u8>> {
        std::fs::read(&self.path)
    }
}

impl Corpus {
    /// `$SLUICE_CORPUS`, else `../shared/corpus` beside the project.
    pub fn default_dir() -> PathBuf {
        std::env::var_os("SLUICE_CORPUS")
            .map(PathBuf::from)
            .unwrap_or_else(|| crate::project_root().join("../shared/corpus"))
    }

    /// Reads the manifest of the corpus in `dir`; an error says what is missing.
    pub fn open(dir: &Path) -> Result<Corpus, String> {
        let manifest_path = dir.join("manifest.tsv");
        let manifest = std::fs::read_to_string(&manifest_path).map_err(|e| {
            format!(
                "no corpus at {} ({e}): set SLUICE_CORPUS or --corpus",
                manifest_path.display()
            )
        })?;
        let mut html = Vec::new();
        for line in manifest.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            let fields: Vec<&str> = line.split('\t').collect();
            let [name, class, prefix, _, bytes, ..] = fields[..] else {
                return Err(format!("{}: a short line: {line}", manifest_path.display()));
            };
            if class != "html" {
                continue;
            }
            let path = dir.join(name);
            if !path.is_file() {
                return Err(format!("{} is in the manifest but missing", path.display()));
            }
            html.push(CorpusPage {
                name: name.to_owned(),
                host: prefix.split("://").nth(1).unwrap_or(prefix).to_owned(),
                bytes: bytes
                    .parse()
                    .map_err(|_| format!("{name}: bytes {bytes:?}"))?,
                path,
            });
        }
        if html.is_empty() {
            return Err(format!("{} lists no HTML page", manifest_path.display()));
        }
        Ok(Corpus {
            dir: dir.to_path_buf(),
            html,
        })
    }
}
