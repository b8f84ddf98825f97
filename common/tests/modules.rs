//! `common`'s modules depend on each other without circles: config is plain data, the
//! client needs nothing of the server's layers, and so on. A circle would make one module
//! impossible to understand, test or move without the others; this test names it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The top-level module a `crate::…` path names: `crate::config::X` → `config`, and a
/// re-export at the crate root (`crate::Service`) → the module that defines it.
fn module_of(path: &str, reexports: &BTreeMap<String, String>) -> Option<String> {
    let first = path.split("::").next()?;
    if first.chars().next()?.is_uppercase() {
        return reexports.get(first).cloned();
    }
    Some(first.to_owned())
}

/// Every `crate::…` path in code (not comments) of `text`, braces expanded one level.
fn crate_paths(text: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            if let Some(inner) = after.strip_prefix('{') {
                let inner = inner.split('}').next().unwrap_or_default();
                paths.extend(inner.split(',').map(|p| p.trim().to_owned()));
            } else {
                let end = after
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .unwrap_or(after.len());
                paths.push(after[..end].to_owned());
            }
            rest = &after[1..];
        }
    }
    paths
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_modules_of_common_depend_on_each_other_without_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let mut reexports = BTreeMap::new();
    for line in lib.lines().filter_map(|l| l.strip_prefix("pub use ")) {
        let (module, names) = line.trim_end_matches(';').split_once("::").unwrap();
        for name in names.trim_matches(|c| c == '{' || c == '}').split(',') {
            reexports.insert(name.trim().to_owned(), module.to_owned());
        }
    }
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let module = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = module.trim_end_matches(".rs").to_owned();
        if module == "lib" || relative.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        for path in crate_paths(text) {
            if let Some(used) = module_of(&path, &reexports).filter(|m| *m != module) {
                uses.entry(module.clone()).or_default().insert(used);
            }
        }
    }
    assert!(
        uses.contains_key("client"),
        "the scan found no uses: {uses:?}"
    );
    // Depth-first: a module met again while still on the path closes a circle.
    fn visit(
        m: &str,
        uses: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if let Some(at) = path.iter().position(|p| p == m) {
            panic!("import circle: {} → {m}", path[at..].join(" → "));
        }
        if !done.insert(m.to_owned()) {
            return;
        }
        path.push(m.to_owned());
        for next in uses.get(m).into_iter().flatten() {
            visit(next, uses, path, done);
        }
        path.pop();
    }
    let mut done = BTreeSet::new();
    for module in uses.keys() {
        visit(module, &uses, &mut Vec::new(), &mut done);
    }
}
