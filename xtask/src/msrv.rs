//! `cargo xtask msrv`: checks that the declared `rust-version` of every published crate is at
//! least every dependency's declared `rust-version` (from `cargo metadata`), for the host and
//! for `wasm32-unknown-unknown`, so the declared minimum is not a promise the lockfile breaks.
//! (That our own code builds with it is clippy's `incompatible_msrv` lint, on in `.ci/run`.)

use std::collections::{HashMap, HashSet};

use serde_json::Value;

/// A `rust-version` as `(major, minor, patch)`.
pub type Version = (u64, u64, u64);

/// Parses `1.85` or `1.85.0`.
pub fn parse_version(s: &str) -> Option<Version> {
    let mut parts = s.split('.').map(|p| p.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next().flatten().unwrap_or(0);
    let patch = parts.next().flatten().unwrap_or(0);
    Some((major, minor, patch))
}

/// One dependency needing a newer Rust than a crate declares.
#[derive(Debug, PartialEq)]
pub struct Violation {
    /// The workspace crate.
    pub krate: String,
    /// Its declared rust-version (`None`: none declared).
    pub declared: Option<String>,
    /// The dependency (name and version).
    pub dependency: String,
    /// The dependency's rust-version.
    pub needs: String,
}

/// Every violation in one `cargo metadata --format-version 1` JSON (with its resolve): for each
/// published workspace member, the normal dependencies it pulls in, directly or not.
pub fn violations(metadata: &Value) -> Result<Vec<Violation>, String> {
    let packages = metadata["packages"].as_array().ok_or("no `packages`")?;
    let by_id: HashMap<&str, &Value> = packages
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let nodes: HashMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .ok_or("no `resolve` (run cargo metadata without --no-deps)")?
        .iter()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let members: HashSet<&str> = metadata["workspace_members"]
        .as_array()
        .ok_or("no `workspace_members`")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut out = Vec::new();
    let mut ids: Vec<&str> = members.iter().copied().collect();
    ids.sort();
    for id in ids {
        let member = by_id[id];
        if member["publish"].as_array().is_some_and(Vec::is_empty) {
            continue;
        }
        let declared = member["rust_version"].as_str();
        let declared_v = declared.and_then(parse_version);
        let mut seen = HashSet::new();
        let mut stack = vec![id];
        while let Some(i) = stack.pop() {
            if !seen.insert(i) {
                continue;
            }
            let deps = nodes.get(i).and_then(|n| n["deps"].as_array());
            for d in deps.into_iter().flatten() {
                let normal = d["dep_kinds"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k["kind"].is_null()));
                if let (true, Some(pkg)) = (normal, d["pkg"].as_str()) {
                    stack.push(pkg);
                }
            }
        }
        let mut deps: Vec<&str> = seen.into_iter().filter(|i| !members.contains(i)).collect();
        deps.sort();
        for dep in deps {
            let p = by_id[dep];
            let Some(needs) = p["rust_version"].as_str() else {
                continue;
            };
            if declared_v.is_none_or(|v| parse_version(needs).is_some_and(|n| n > v)) {
                out.push(Violation {
                    krate: member["name"].as_str().unwrap_or("?").to_string(),
                    declared: declared.map(str::to_string),
                    dependency: format!(
                        "{} {}",
                        p["name"].as_str().unwrap_or("?"),
                        p["version"].as_str().unwrap_or("?")
                    ),
                    needs: needs.to_string(),
                });
            }
        }
    }
    Ok(out)
}

/// Runs the check for the host and for wasm32-unknown-unknown; exits 1 on a violation.
pub fn main() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let host = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        })
        .unwrap_or_else(|| "x86_64-unknown-linux-gnu".to_string());
    let mut failed = false;
    for platform in [host.as_str(), "wasm32-unknown-unknown"] {
        let out = std::process::Command::new(&cargo)
            .args(["metadata", "--format-version", "1", "--locked"])
            .args(["--filter-platform", platform, "--manifest-path", manifest])
            .output();
        let result = out
            .map_err(|e| format!("running cargo metadata: {e}"))
            .and_then(|o| {
                if o.status.success() {
                    serde_json::from_slice(&o.stdout).map_err(|e| e.to_string())
                } else {
                    Err(String::from_utf8_lossy(&o.stderr).into_owned())
                }
            })
            .and_then(|m| violations(&m));
        match result {
            Ok(v) if v.is_empty() => println!("rust-version covers every dependency ({platform})"),
            Ok(v) => {
                failed = true;
                for x in v {
                    eprintln!(
                        "{} declares rust-version {} but depends on {}, which needs {} ({platform})",
                        x.krate,
                        x.declared.as_deref().unwrap_or("(none)"),
                        x.dependency,
                        x.needs
                    );
                }
            }
            Err(e) => {
                failed = true;
                eprintln!("error ({platform}): {e}");
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(declared: Option<&str>) -> Value {
        serde_json::json!({
            "workspace_members": ["a", "x"],
            "packages": [
                {"id": "a", "name": "antorcha-a", "version": "0.1.0", "rust_version": declared, "publish": null},
                {"id": "x", "name": "xtask", "version": "0.0.0", "rust_version": null, "publish": []},
                {"id": "d1", "name": "dep1", "version": "1.0.0", "rust_version": "1.80", "publish": null},
                {"id": "d2", "name": "dep2", "version": "2.0.0", "rust_version": "1.85.0", "publish": null},
                {"id": "t", "name": "testdep", "version": "1.0.0", "rust_version": "1.90", "publish": null}
            ],
            "resolve": {"nodes": [
                {"id": "a", "deps": [
                    {"pkg": "d1", "dep_kinds": [{"kind": null}]},
                    {"pkg": "t", "dep_kinds": [{"kind": "dev"}]}]},
                {"id": "d1", "deps": [{"pkg": "d2", "dep_kinds": [{"kind": null}]}]},
                {"id": "d2", "deps": []},
                {"id": "t", "deps": []},
                {"id": "x", "deps": [{"pkg": "t", "dep_kinds": [{"kind": null}]}]}
            ]}
        })
    }

    #[test]
    fn finds_transitive_normal_dependencies_only() {
        assert!(violations(&metadata(Some("1.85"))).unwrap().is_empty());
        let v = violations(&metadata(Some("1.84"))).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(
            (v[0].dependency.as_str(), v[0].needs.as_str()),
            ("dep2 2.0.0", "1.85.0")
        );
        // No declaration at all is a violation for every dependency that declares one.
        assert_eq!(violations(&metadata(None)).unwrap().len(), 2);
    }

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("1.85"), Some((1, 85, 0)));
        assert_eq!(parse_version("1.85.1"), Some((1, 85, 1)));
        assert!(parse_version("x").is_none());
    }
}
