//! The architecture, checked: which module may import which, and no import
//! cycles anywhere in `src/`.
//!
//! The stages import *down* only, as the README's "How it works" map shows.
//! [`RULES`] lists, for every top-level module of `src/`, the modules it may
//! import; a module missing from the list fails the test, so a new module is
//! placed on purpose. Every file is also a node of a file-level graph (its
//! `crate::`, `super::` and `self::` paths, with names re-exported by a
//! `mod.rs` followed to the file that defines them), and that graph must have
//! no cycle: two files of one folder that use each other belong in one file or
//! need a third both use.
//!
//! Test code (files declared under `#[cfg(test)]`, and inline
//! `#[cfg(test)] mod tests { … }` blocks) is left out: a test may reach up.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module and the modules it may import. The ground floor
/// (`vocab`, `clock`, `suggest`) imports nothing but itself.
const RULES: &[(&str, &[&str])] = &[
    ("vocab", &[]),
    ("clock", &[]),
    ("suggest", &[]),
    ("cli", &["vocab"]),
    ("manifest", &["vocab", "suggest"]),
    ("plan", &["manifest", "vocab"]),
    ("dataset", &["plan", "vocab"]),
    ("schedule", &["plan", "vocab"]),
    ("record", &["vocab", "clock"]),
    (
        "client",
        &["dataset", "plan", "record", "clock", "vocab", "suggest"],
    ),
    ("simulator", &["vocab", "clock"]),
    ("metrics", &["record", "plan", "vocab"]),
    ("search", &["metrics", "plan", "vocab"]),
    (
        "results",
        &["search", "metrics", "record", "plan", "vocab", "clock"],
    ),
    (
        "report",
        &["results", "search", "metrics", "record", "plan", "vocab"],
    ),
    (
        "sink",
        &[
            "report", "results", "search", "metrics", "record", "plan", "vocab",
        ],
    ),
    (
        "error",
        &[
            "manifest", "plan", "dataset", "client", "results", "sink", "cli",
        ],
    ),
    (
        "progress",
        &["results", "report", "metrics", "plan", "record", "vocab"],
    ),
    (
        "runner",
        &[
            "client",
            "simulator",
            "dataset",
            "schedule",
            "results",
            "sink",
            "search",
            "metrics",
            "record",
            "plan",
            "progress",
            "error",
            "suggest",
            "clock",
            "vocab",
        ],
    ),
    (
        "compare",
        &[
            "report", "results", "sink", "metrics", "record", "plan", "error", "cli", "vocab",
        ],
    ),
    (
        "bench",
        &[
            "runner",
            "simulator",
            "client",
            "dataset",
            "schedule",
            "results",
            "sink",
            "metrics",
            "record",
            "plan",
            "error",
            "cli",
            "clock",
            "vocab",
        ],
    ),
    ("schema", &["manifest", "cli", "error"]),
    ("completions", &["cli", "error"]),
    (
        "init",
        &[
            "schema", "manifest", "client", "plan", "cli", "error", "suggest", "vocab",
        ],
    ),
    (
        "app",
        &[
            "cli",
            "error",
            "manifest",
            "plan",
            "dataset",
            "runner",
            "results",
            "sink",
            "compare",
            "simulator",
            "progress",
            "bench",
            "init",
            "schema",
            "completions",
            "vocab",
        ],
    ),
];

/// A module path: `["sink", "html"]`; the crate root is `[]`.
type Module = Vec<String>;

/// One source file of the crate.
struct File {
    module: Module,
    /// `mod.rs` / `lib.rs`: `super` is the parent of `module`, and children
    /// are declared here.
    is_mod_rs: bool,
    /// The code without comments and test blocks.
    code: String,
}

/// The crate's files, read from `src/` (`main.rs` is left out: it only calls the library).
fn read_crate(src: &Path) -> Vec<File> {
    let mut paths = Vec::new();
    collect(src, &mut paths);
    let mut files: Vec<File> = paths
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "main.rs"))
        .map(|p| {
            let rel = p.strip_prefix(src).expect("under src");
            let text = std::fs::read_to_string(&p).expect("read source");
            file_from(rel, &text)
        })
        .collect();
    let test_modules = test_modules(&files);
    files.retain(|f| {
        !test_modules
            .iter()
            .any(|t| f.module.len() >= t.len() && f.module[..t.len()] == t[..])
    });
    files
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A file given its path relative to `src/` and its text.
fn file_from(rel: &Path, text: &str) -> File {
    let mut module: Module = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let last = module.last().cloned().unwrap_or_default();
    let is_mod_rs = last == "mod" || last == "lib";
    if is_mod_rs {
        module.pop();
    }
    File {
        module,
        is_mod_rs,
        code: strip(text),
    }
}

/// Drops comment lines and inline `#[cfg(test)] mod … { … }` blocks, keeping
/// `#[cfg(test)] mod x;` declarations (they name test files, see [`test_modules`]).
fn strip(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            if let Some(next) = lines.peek() {
                let next = next.trim_start();
                let is_block = (next.starts_with("mod ") || next.starts_with("pub mod "))
                    && next.trim_end().ends_with('{');
                if is_block {
                    let indent = line.len() - trimmed.len();
                    let close = format!("{}}}", " ".repeat(indent));
                    for l in lines.by_ref() {
                        if l == close {
                            break;
                        }
                    }
                    continue;
                }
            }
        }
        if trimmed.starts_with("//") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Modules declared as `#[cfg(test)] mod x;`.
fn test_modules(files: &[File]) -> Vec<Module> {
    let mut out = Vec::new();
    for f in files.iter().filter(|f| f.is_mod_rs || f.module.is_empty()) {
        let mut lines = f.code.lines().peekable();
        while let Some(line) = lines.next() {
            if line.trim() == "#[cfg(test)]" {
                if let Some(next) = lines.peek() {
                    let decl = next.trim().trim_start_matches("pub ");
                    if let Some(name) = decl.strip_prefix("mod ").and_then(|r| r.strip_suffix(';'))
                    {
                        let mut m = f.module.clone();
                        m.push(name.trim().to_owned());
                        out.push(m);
                    }
                }
            }
        }
    }
    // Children of non-mod.rs files (`foo.rs` + `foo/tests.rs`) are declared in `foo.rs`.
    for f in files
        .iter()
        .filter(|f| !f.is_mod_rs && !f.module.is_empty())
    {
        let mut lines = f.code.lines().peekable();
        while let Some(line) = lines.next() {
            if line.trim() == "#[cfg(test)]" {
                if let Some(next) = lines.peek() {
                    let decl = next.trim().trim_start_matches("pub ");
                    if let Some(name) = decl.strip_prefix("mod ").and_then(|r| r.strip_suffix(';'))
                    {
                        let mut m = f.module.clone();
                        m.push(name.trim().to_owned());
                        out.push(m);
                    }
                }
            }
        }
    }
    out
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path used in `code` that starts with `crate`, `super` or `self`, as
/// segments (`use crate::a::{b, c::d}` gives `crate::a::b` and `crate::a::c::d`).
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts_word = i == 0 || !is_ident_char(chars[i - 1]) && chars[i - 1] != ':';
        if starts_word {
            for root in ["crate", "super", "self"] {
                let n = root.len();
                let word: String = chars[i..chars.len().min(i + n)].iter().collect();
                let after = chars
                    .get(i + n..i + n + 2)
                    .map(|s| s.iter().collect::<String>());
                if word == root && after.as_deref() == Some("::") {
                    let mut prefix = vec![root.to_owned()];
                    let mut j = i + n + 2;
                    parse_tree(&chars, &mut j, &mut prefix, &mut out);
                    i = j;
                    break;
                }
            }
        }
        i += 1;
    }
    out
}

/// Parses a use tree at `chars[*j..]` after `prefix::`, pushing every full path.
fn parse_tree(chars: &[char], j: &mut usize, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let depth = prefix.len();
    loop {
        while chars.get(*j).is_some_and(|c| c.is_whitespace()) {
            *j += 1;
        }
        match chars.get(*j) {
            Some('{') => {
                *j += 1;
                loop {
                    parse_tree(chars, j, prefix, out);
                    while chars.get(*j).is_some_and(|c| c.is_whitespace()) {
                        *j += 1;
                    }
                    match chars.get(*j) {
                        Some(',') => *j += 1,
                        Some('}') => {
                            *j += 1;
                            break;
                        }
                        _ => break,
                    }
                    while chars.get(*j).is_some_and(|c| c.is_whitespace()) {
                        *j += 1;
                    }
                    if chars.get(*j) == Some(&'}') {
                        *j += 1;
                        break;
                    }
                }
                prefix.truncate(depth);
                return;
            }
            Some('*') => {
                *j += 1;
                out.push(prefix.clone());
                prefix.truncate(depth);
                return;
            }
            Some(c) if is_ident_char(*c) => {
                let start = *j;
                while chars.get(*j).is_some_and(|c| is_ident_char(*c)) {
                    *j += 1;
                }
                let seg: String = chars[start..*j].iter().collect();
                prefix.push(seg);
                if chars.get(*j..*j + 2) == Some(&[':', ':']) {
                    *j += 2;
                    continue;
                }
                out.push(prefix.clone());
                // `x as y`
                let rest: String = chars[*j..chars.len().min(*j + 4)].iter().collect();
                if rest.starts_with(" as ") {
                    *j += 4;
                    while chars.get(*j).is_some_and(|c| is_ident_char(*c)) {
                        *j += 1;
                    }
                }
                prefix.truncate(depth);
                return;
            }
            _ => {
                prefix.truncate(depth);
                return;
            }
        }
    }
}

/// The file-level import graph: file index → file indices it uses.
fn graph(files: &[File]) -> BTreeMap<usize, BTreeSet<usize>> {
    let by_module: BTreeMap<&Module, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (&f.module, i))
        .collect();
    // `pub use child::Name;` in a mod.rs: Name lives in child.
    let mut reexports: BTreeMap<(Module, String), Module> = BTreeMap::new();
    for f in files.iter().filter(|f| f.is_mod_rs) {
        for line in f.code.lines() {
            let t = line.trim();
            let Some(rest) = t
                .strip_prefix("pub use ")
                .or_else(|| t.strip_prefix("pub(crate) use "))
            else {
                continue;
            };
            let rest = rest.trim_start_matches("self::");
            if rest.starts_with("crate::") || rest.starts_with("super::") {
                continue;
            }
            for p in paths_in(&format!("self::{rest}")) {
                if p.len() >= 3 {
                    let mut child = f.module.clone();
                    child.push(p[1].clone());
                    let name = p.last().cloned().unwrap_or_default();
                    reexports.insert((f.module.clone(), name), child);
                }
            }
        }
    }
    let mut edges: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        for p in paths_in(&f.code) {
            let mut full: Vec<String> = match p[0].as_str() {
                "crate" => Vec::new(),
                "super" => {
                    let mut m = f.module.clone();
                    m.pop();
                    m
                }
                _ => f.module.clone(),
            };
            let mut segs = p[1..].iter().cloned().peekable();
            // Further `super::` segments climb on.
            while segs.peek().is_some_and(|s| s == "super") {
                segs.next();
                full.pop();
            }
            full.extend(segs);
            // The longest prefix naming a module of the crate.
            let Some((k, target)) = (0..=full.len())
                .rev()
                .find_map(|k| by_module.get(&full[..k].to_vec()).map(|t| (k, *t)))
            else {
                continue;
            };
            let mut target = target;
            if let Some(name) = full.get(k) {
                if let Some(child) = reexports.get(&(full[..k].to_vec(), name.clone())) {
                    if let Some(t) = by_module.get(child) {
                        target = *t;
                    }
                }
            }
            if target != i && !files[target].module.is_empty() {
                edges.entry(i).or_default().insert(target);
            }
        }
    }
    edges
}

fn name(f: &File) -> String {
    if f.module.is_empty() {
        "lib".into()
    } else {
        f.module.join("::")
    }
}

/// Every rule broken: `(importer file, imported file)` across top-level modules
/// not allowed by [`RULES`], plus top-level modules the rules do not list.
fn violations(files: &[File], edges: &BTreeMap<usize, BTreeSet<usize>>) -> Vec<String> {
    let rules: BTreeMap<&str, &[&str]> = RULES.iter().copied().collect();
    let mut out = Vec::new();
    let tops: BTreeSet<&str> = files
        .iter()
        .filter_map(|f| f.module.first().map(String::as_str))
        .collect();
    for t in &tops {
        if !rules.contains_key(t) {
            out.push(format!(
                "src/{t}: not in RULES; place it among the stages it imports and is imported by"
            ));
        }
    }
    for (a, bs) in edges {
        let Some(ta) = files[*a].module.first() else {
            continue;
        };
        for b in bs {
            let Some(tb) = files[*b].module.first() else {
                continue;
            };
            if ta != tb
                && rules
                    .get(ta.as_str())
                    .is_some_and(|ok| !ok.contains(&tb.as_str()))
            {
                out.push(format!(
                    "{} imports {} ({ta} may import: {})",
                    name(&files[*a]),
                    name(&files[*b]),
                    rules[ta.as_str()].join(", ")
                ));
            }
        }
    }
    out
}

/// The cycles of the file graph (strongly connected components of two or more files).
fn cycles(files: &[File], edges: &BTreeMap<usize, BTreeSet<usize>>) -> Vec<Vec<String>> {
    // Tarjan's algorithm, iteratively deep enough for this crate.
    struct State<'a> {
        edges: &'a BTreeMap<usize, BTreeSet<usize>>,
        index: BTreeMap<usize, usize>,
        low: BTreeMap<usize, usize>,
        stack: Vec<usize>,
        on_stack: BTreeSet<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State<'_>, v: usize) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        let succ: Vec<usize> = s.edges.get(&v).into_iter().flatten().copied().collect();
        for w in succ {
            if !s.index.contains_key(&w) {
                visit(s, w);
                let lw = s.low[&w];
                let lv = s.low.get_mut(&v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(&w) {
                let iw = s.index[&w];
                let lv = s.low.get_mut(&v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[&v] == s.index[&v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(&w);
                comp.push(w);
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..files.len() {
        if !s.index.contains_key(&v) {
            visit(&mut s, v);
        }
    }
    s.out
        .into_iter()
        .map(|c| {
            let mut names: Vec<String> = c.iter().map(|i| name(&files[*i])).collect();
            names.sort();
            names
        })
        .collect()
}

#[test]
fn stages_import_only_downward_and_nothing_imports_in_a_circle() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = read_crate(&src);
    assert!(files.len() > 50, "read {} files", files.len());
    let edges = graph(&files);
    let broken = violations(&files, &edges);
    assert!(
        broken.is_empty(),
        "imports against the rules in tests/integration/architecture.rs:\n  {}",
        broken.join("\n  ")
    );
    let circles = cycles(&files, &edges);
    assert!(
        circles.is_empty(),
        "files that import each other in a circle:\n  {}",
        circles
            .iter()
            .map(|c| c.join(" ↔ "))
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

/// The checker itself finds what it must: a stage reaching up, a circle of
/// files through a `mod.rs` re-export, and a module the rules do not place;
/// and it ignores comments and test blocks.
#[test]
fn the_checker_finds_upward_imports_cycles_and_unplaced_modules() {
    let files = vec![
        file_from(Path::new("lib.rs"), "pub mod plan;\npub mod manifest;\npub mod extra;\n"),
        file_from(
            Path::new("manifest/mod.rs"),
            "mod a;\nmod b;\npub use a::Thing;\n// use crate::plan::Plan;\n",
        ),
        file_from(
            Path::new("manifest/a.rs"),
            "use super::b::helper;\npub struct Thing;\n#[cfg(test)]\nmod tests {\n    use crate::extra::X;\n}\n",
        ),
        file_from(
            Path::new("manifest/b.rs"),
            "use super::Thing;\nuse crate::plan::{Plan, matrix::expand};\npub fn helper() {}\n",
        ),
        file_from(Path::new("plan/mod.rs"), "pub struct Plan;\npub mod matrix;\n"),
        file_from(Path::new("plan/matrix.rs"), "pub fn expand() {}\n"),
        file_from(Path::new("extra.rs"), "pub struct X;\n"),
    ];
    let edges = graph(&files);
    let broken = violations(&files, &edges);
    assert!(
        broken
            .iter()
            .any(|v| v.starts_with("manifest::b imports plan ")),
        "{broken:?}"
    );
    assert!(
        broken
            .iter()
            .any(|v| v.starts_with("manifest::b imports plan::matrix ")),
        "{broken:?}"
    );
    assert!(
        broken
            .iter()
            .any(|v| v.starts_with("src/extra: not in RULES")),
        "{broken:?}"
    );
    // Neither the comment nor the test block counts.
    assert!(
        !broken.iter().any(|v| v.contains("manifest imports")),
        "{broken:?}"
    );
    assert!(
        !broken.iter().any(|v| v.contains("imports extra")),
        "{broken:?}"
    );
    let circles = cycles(&files, &edges);
    assert_eq!(
        circles,
        vec![vec!["manifest::a".to_owned(), "manifest::b".to_owned()]]
    );
}

#[test]
fn use_trees_are_read_whole() {
    let paths = paths_in("use crate::a::{b, c::{d, e as f}, g::*};\nlet x = super::h::i(self::j);");
    let shown: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        shown,
        [
            "crate::a::b",
            "crate::a::c::d",
            "crate::a::c::e",
            "crate::a::g",
            "super::h::i",
            "self::j"
        ]
    );
}
