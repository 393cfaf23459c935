//! Tidy checks, run by `cargo test`: every crate says what it owns in a leading
//! `//!` comment and what it must not depend on, its dependencies (direct and
//! through other workspace crates) honour that line, and every crate appears in
//! ARCHITECTURE.md's codemap.

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

    /// The names a crate root's `Must not depend on:` line lists, in backticks,
    /// up to the full stop that ends it.
    pub(super) fn forbidden(doc: &str) -> Option<Vec<String>> {
        let start = doc.find("//! Must not depend on:")?;
        let mut text = String::new();
        for line in doc[start..].lines() {
            let Some(body) = line.strip_prefix("//!") else { break };
            text.push_str(body);
            if body.trim_end().ends_with('.') {
                break;
            }
        }
        Some(text.split('`').skip(1).step_by(2).map(str::to_owned).collect())
    }

    /// The `[dependencies]` of a manifest (not dev- or build-dependencies).
    pub(super) fn dependencies(manifest: &str) -> Vec<String> {
        let mut in_deps = false;
        let mut out = Vec::new();
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                in_deps = line == "[dependencies]";
            } else if in_deps && let Some((key, _)) = line.split_once('=') {
                let name = key.trim().trim_end_matches(".workspace").trim();
                if !name.is_empty() && !name.starts_with('#') {
                    out.push(name.to_owned());
                }
            }
        }
        out
    }

    fn crate_doc(dir: &Path) -> String {
        let lib = dir.join("src/lib.rs");
        let root_file = if lib.exists() { lib } else { dir.join("src/main.rs") };
        std::fs::read_to_string(root_file).expect("crate root readable")
    }

    #[test]
    fn every_crate_honours_its_must_not_depend_on_line() {
        let crates = crates();
        let deps: std::collections::BTreeMap<String, Vec<String>> = crates
            .iter()
            .map(|(name, dir)| {
                let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("manifest readable");
                (name.clone(), dependencies(&manifest))
            })
            .collect();
        let mut broken = Vec::new();
        for (name, dir) in &crates {
            let forbidden = forbidden(&crate_doc(dir))
                .unwrap_or_else(|| panic!("{name}'s crate doc has no `//! Must not depend on: ...` line"));
            assert!(!forbidden.is_empty(), "{name}'s `Must not depend on:` line names no crate in backticks");
            // Everything reachable through normal dependencies, workspace crates followed.
            let mut seen = std::collections::BTreeSet::new();
            let mut todo = vec![name.clone()];
            while let Some(c) = todo.pop() {
                for d in deps.get(&c).into_iter().flatten() {
                    if seen.insert(d.clone()) && deps.contains_key(d) {
                        todo.push(d.clone());
                    }
                }
            }
            for f in &forbidden {
                if seen.contains(f) {
                    broken.push(format!("{name} depends on `{f}`, which its crate doc forbids"));
                }
            }
        }
        assert!(broken.is_empty(), "{}", broken.join("\n"));
    }

    #[test]
    fn the_dependency_check_reads_docs_and_manifests() {
        let doc = "//! `x`: a crate.\n//!\n//! Must not depend on: `a`, `b-c`,\n//! `d`.\n//! Not `e`.\n";
        assert_eq!(forbidden(doc), Some(vec!["a".to_owned(), "b-c".to_owned(), "d".to_owned()]));
        assert_eq!(forbidden("//! nothing here\n"), None);
        let manifest = "[package]\nname = \"x\"\n[dependencies]\nsim.workspace = true\nregex = \"1\"\n[dev-dependencies]\nredis.workspace = true\n";
        assert_eq!(dependencies(manifest), vec!["sim".to_owned(), "regex".to_owned()]);
    }
}
