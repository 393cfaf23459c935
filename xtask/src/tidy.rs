//! Tidy checks, run by `cargo test`: every crate says what it owns in a leading
//! `//!` comment and what it must not depend on, its dependencies (direct and
//! through other workspace crates) honour that line, every crate appears in
//! ARCHITECTURE.md's codemap, and `thread_local!` appears under `crates/` only
//! where `THREAD_LOCAL_ALLOWED` below says why it cannot change a trace.

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// Every `thread_local!` under `crates/`, with why it cannot change a trace.
    /// Per-thread state is shared by every simulated process on the thread, so
    /// it is allowed only where what one process leaves there never reaches
    /// another's behaviour (a cache of values, scratch space). A new use needs
    /// an entry here, which a reviewer reads.
    const THREAD_LOCAL_ALLOWED: &[(&str, &str)] = &[
        (
            "crates/redis/src/cluster/mod.rs",
            "IDENTITIES: interned node identities (name, address, ports) shared by every node table on the thread; \
             a cache of immutable values, looked up by value, never iterated into behaviour",
        ),
        (
            "crates/redis/src/cluster/names.rs",
            "NAMES: small numbers for node names shared by every node table on the thread; a table answers with the \
             same node whatever number a name got, and nothing iterates the registry",
        ),
        (
            "crates/scenario/src/tests.rs",
            "SHARED_WORDS: a test probe's count of how often its words were asked for and read, on the test's own \
             thread; only the test's assertions read it, never a condition or a node",
        ),
        (
            "crates/redis/src/lzf.rs",
            "TABLE: the LZF compressor's 64 Ki-entry hash table, reused across calls; entries are stamped with the \
             call that wrote them and stale ones read as empty, so output depends on the input alone",
        ),
    ];

    /// The files under `root` (relative paths with `/`, sorted) whose code uses
    /// `thread_local!`, with the line numbers. Comment lines do not count.
    fn thread_local_uses(root: &Path) -> Vec<(String, Vec<usize>)> {
        let mut files = Vec::new();
        rust_files(root, &mut files);
        files.sort();
        let mut out = Vec::new();
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let lines = thread_local_lines(&text);
            if !lines.is_empty() {
                let rel = path.strip_prefix(root.parent().unwrap_or(root)).unwrap_or(&path);
                out.push((rel.to_string_lossy().replace('\\', "/"), lines));
            }
        }
        out
    }

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("readable entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "target") {
                    rust_files(&path, out);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// 1-based lines of `text` that use `thread_local!` outside a `//` comment.
    fn thread_local_lines(text: &str) -> Vec<usize> {
        text.lines()
            .enumerate()
            .filter(|(_, line)| {
                let code = line.split("//").next().unwrap_or_default();
                code.contains("thread_local!")
            })
            .map(|(i, _)| i + 1)
            .collect()
    }

    /// What is wrong with `uses` against `allowed`: an unlisted use, or an entry
    /// whose file no longer uses `thread_local!` (so the list cannot go stale).
    fn thread_local_problems(uses: &[(String, Vec<usize>)], allowed: &[(&str, &str)]) -> Vec<String> {
        let mut problems = Vec::new();
        for (file, lines) in uses {
            if !allowed.iter().any(|(f, reason)| f == file && !reason.trim().is_empty()) {
                problems.push(format!(
                    "{file}:{} uses thread_local! without an entry in xtask/src/tidy.rs's THREAD_LOCAL_ALLOWED \
                     (state per thread is shared by every simulated process on it: say why it cannot change a trace)",
                    lines.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
                ));
            }
        }
        for (file, _) in allowed {
            if !uses.iter().any(|(f, _)| f == file) {
                problems.push(format!(
                    "THREAD_LOCAL_ALLOWED lists {file}, which no longer uses thread_local!: remove the entry"
                ));
            }
        }
        problems
    }

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

    #[test]
    fn thread_local_only_where_the_allow_list_says_why() {
        let uses = thread_local_uses(&root().join("crates"));
        let problems = thread_local_problems(&uses, THREAD_LOCAL_ALLOWED);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn an_unlisted_thread_local_fails_the_check() {
        let text = "fn f() {}\n// thread_local! in a comment is fine\nstd::thread_local! {\n    static X: u8 = const { 0 };\n}\n";
        assert_eq!(thread_local_lines(text), vec![3]);
        let uses = vec![("crates/new/src/lib.rs".to_owned(), thread_local_lines(text))];
        let problems = thread_local_problems(&uses, &[]);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("crates/new/src/lib.rs:3 uses thread_local!"), "{problems:?}");
        // Listed with a reason, it passes; listed without one, it does not.
        assert!(thread_local_problems(&uses, &[("crates/new/src/lib.rs", "scratch")]).is_empty());
        assert_eq!(thread_local_problems(&uses, &[("crates/new/src/lib.rs", " ")]).len(), 1);
        // An entry whose file stopped using it is stale.
        let stale = thread_local_problems(&[], &[("crates/old/src/lib.rs", "gone")]);
        assert_eq!(stale.len(), 1, "{stale:?}");
    }
}
