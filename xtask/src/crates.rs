//! `cargo xtask crates`: the workspace's crates, read from `cargo metadata` (so a new crate
//! shows up without editing this file), each with its description and the sibling crates it
//! depends on.

use serde_json::Value;

/// One published crate of the workspace.
#[derive(Debug, PartialEq)]
pub struct CrateInfo {
    /// The package name.
    pub name: String,
    /// Its `description` from Cargo.toml.
    pub description: String,
    /// The workspace crates it depends on (normal dependencies), sorted.
    pub depends_on: Vec<String>,
}

/// The workspace members that get published (not `publish = false`), from the JSON of
/// `cargo metadata --format-version 1 --no-deps`, the facade (`antorcha`) last.
pub fn from_metadata(metadata: &Value) -> Result<Vec<CrateInfo>, String> {
    let packages = metadata["packages"]
        .as_array()
        .ok_or("cargo metadata: no `packages` array")?;
    let names: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut crates: Vec<CrateInfo> = packages
        .iter()
        .filter(|p| p["publish"].as_array().is_none_or(|a| !a.is_empty()))
        .map(|p| {
            let mut depends_on: Vec<String> = p["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["kind"].is_null())
                .filter_map(|d| d["name"].as_str())
                .filter(|n| names.contains(n))
                .map(str::to_string)
                .collect();
            depends_on.sort();
            CrateInfo {
                name: p["name"].as_str().unwrap_or("?").to_string(),
                description: p["description"].as_str().unwrap_or("").to_string(),
                depends_on,
            }
        })
        .collect();
    crates.sort_by_key(|c| (c.name == "antorcha", c.name.clone()));
    Ok(crates)
}

/// Runs `cargo metadata` on this workspace and prints one line per crate.
pub fn main() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
            manifest,
        ])
        .output();
    let crates = out
        .map_err(|e| format!("running cargo metadata: {e}"))
        .and_then(|o| {
            if o.status.success() {
                serde_json::from_slice(&o.stdout).map_err(|e| format!("cargo metadata: {e}"))
            } else {
                Err(String::from_utf8_lossy(&o.stderr).into_owned())
            }
        })
        .and_then(|m| from_metadata(&m));
    match crates {
        Ok(crates) => {
            for c in crates {
                let deps = if c.depends_on.is_empty() {
                    String::new()
                } else {
                    format!(" (uses {})", c.depends_on.join(", "))
                };
                println!("{:<18} {}{deps}", c.name, c.description);
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_members_skips_unpublished_and_dev_deps() {
        let m = serde_json::json!({"packages": [
            {"name": "antorcha", "description": "facade", "publish": null,
             "dependencies": [{"name": "antorcha-b", "kind": null}]},
            {"name": "antorcha-b", "description": "B", "publish": null,
             "dependencies": [{"name": "antorcha-a", "kind": null},
                              {"name": "antorcha-c", "kind": "dev"},
                              {"name": "rand", "kind": null}]},
            {"name": "antorcha-a", "description": "A", "publish": null, "dependencies": []},
            {"name": "xtask", "description": null, "publish": [], "dependencies": []}
        ]});
        let crates = from_metadata(&m).unwrap();
        let names: Vec<&str> = crates.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["antorcha-a", "antorcha-b", "antorcha"]);
        assert_eq!(crates[1].depends_on, ["antorcha-a"]);
        assert!(from_metadata(&serde_json::json!({})).is_err());
    }
}
