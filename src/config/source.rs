//! Configuration sources: the files and directories given with `-f`, read whole.
//!
//! A directory stands for its regular `*.cfg` files (not hidden, not recursive) in C-locale
//! order, as HAProxy 2.6 loads them (management.txt §3, `-f`).

use std::sync::Arc;

use super::diag::{Diagnostic, Level, LocStyle};

/// One file's name (as given or as found in a directory) and bytes.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The name used in messages.
    pub name: Arc<str>,
    /// The raw bytes.
    pub text: Vec<u8>,
}

/// Expands `-f` arguments into files, in order.
pub fn load(paths: &[String]) -> Result<Vec<SourceFile>, Diagnostic> {
    let mut out = Vec::new();
    for p in paths {
        let cannot = |e: &std::io::Error| {
            Diagnostic::new(
                Level::Alert,
                None,
                LocStyle::None,
                format!(
                    "Cannot open configuration file/directory {p} : {}",
                    crate::sys::os_text(e)
                ),
            )
        };
        let meta = std::fs::metadata(p).map_err(|e| cannot(&e))?;
        if meta.is_dir() {
            let mut names: Vec<String> = std::fs::read_dir(p)
                .map_err(|e| cannot(&e))?
                .filter_map(|e| e.ok())
                .filter(|e| {
                    e.file_type()
                        .map(|t| t.is_file() || t.is_symlink())
                        .unwrap_or(false)
                })
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| !n.starts_with('.') && n.ends_with(".cfg"))
                .collect();
            names.sort();
            for n in names {
                let full = format!("{}/{n}", p.trim_end_matches('/'));
                let text = std::fs::read(&full).map_err(|e| cannot(&e))?;
                out.push(SourceFile {
                    name: Arc::from(full.as_str()),
                    text,
                });
            }
        } else {
            let text = std::fs::read(p).map_err(|e| cannot(&e))?;
            out.push(SourceFile {
                name: Arc::from(p.as_str()),
                text,
            });
        }
    }
    Ok(out)
}
