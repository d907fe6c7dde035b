//! The layering check: every crate says what it is and what it must never
//! depend on, and the dependency graph (from `cargo metadata`, transitively,
//! for every target platform) keeps those promises.

use std::collections::{BTreeSet, HashMap};

use anyhow::{Context, Result, bail};
use cargo_metadata::{DependencyKind, Metadata, MetadataCommand, Package, PackageId, Target, TargetKind};

/// What one crate may depend on.
struct Rule {
    krate: &'static str,
    /// The parterre crates it may depend on directly: dependencies point down.
    internal: &'static [&'static str],
    /// Name prefixes that must appear nowhere in its normal dependency graph.
    forbidden: &'static [&'static str],
}

const RULES: &[Rule] = &[
    Rule {
        krate: "parterre-core",
        internal: &[],
        forbidden: &[
            "candle",
            "web-sys",
            "js-sys",
            "wasm-bindgen",
            "tokio",
            "axum",
            "hyper",
            "rusqlite",
            "reqwest",
            "ureq",
            "v4l",
            "nokhwa",
        ],
    },
    Rule {
        krate: "parterre-vision",
        internal: &["parterre-core"],
        forbidden: &[
            "web-sys", "tokio", "axum", "hyper", "rusqlite", "reqwest", "ureq", "v4l", "nokhwa",
        ],
    },
    Rule {
        krate: "parterre-aggregate",
        internal: &["parterre-core"],
        forbidden: &[
            "candle", "web-sys", "tokio", "axum", "hyper", "rusqlite", "reqwest", "ureq", "v4l", "nokhwa",
        ],
    },
    Rule {
        krate: "parterre-native",
        internal: &["parterre-core", "parterre-vision", "parterre-aggregate"],
        forbidden: &["web-sys"],
    },
    Rule {
        krate: "parterre-wasm",
        internal: &["parterre-core", "parterre-vision", "parterre-aggregate"],
        forbidden: &["tokio", "axum", "hyper", "rusqlite", "v4l", "nokhwa"],
    },
    Rule {
        krate: "parterre-server",
        internal: &["parterre-core", "parterre-aggregate"],
        forbidden: &["candle", "v4l", "nokhwa", "web-sys"],
    },
    Rule {
        krate: "parterre-benches",
        internal: &["parterre-core", "parterre-vision", "parterre-aggregate"],
        forbidden: &[],
    },
    Rule {
        krate: "xtask",
        internal: &[],
        forbidden: &[],
    },
];

/// Runs every check and reports all violations at once.
pub fn check() -> Result<()> {
    let metadata = MetadataCommand::new().exec().context("running cargo metadata")?;
    let problems = violations(&metadata)?;
    if !problems.is_empty() {
        bail!("layering check failed:\n  {}", problems.join("\n  "));
    }
    eprintln!("layering: {} crates keep their dependency rules", RULES.len());
    Ok(())
}

/// Every broken rule in `metadata`'s workspace.
fn violations(metadata: &Metadata) -> Result<Vec<String>> {
    let resolve = metadata
        .resolve
        .as_ref()
        .context("cargo metadata gave no dependency graph")?;
    let packages: HashMap<&PackageId, &Package> = metadata.packages.iter().map(|p| (&p.id, p)).collect();
    let normal_deps: HashMap<&PackageId, Vec<&PackageId>> = resolve
        .nodes
        .iter()
        .map(|node| {
            let deps = node
                .deps
                .iter()
                .filter(|dep| dep.dep_kinds.iter().any(|k| k.kind == DependencyKind::Normal))
                .map(|dep| &dep.pkg)
                .collect();
            (&node.id, deps)
        })
        .collect();

    let mut problems = Vec::new();
    for member in metadata.workspace_packages() {
        let name = member.name.as_str();
        let Some(rule) = RULES.iter().find(|r| r.krate == name) else {
            problems.push(format!("{name}: no layering rule; add one to xtask/src/layering.rs"));
            continue;
        };
        check_docs(member, &mut problems);
        if member.publish.as_ref().is_none_or(|registries| !registries.is_empty()) {
            problems.push(format!("{name}: internal crates set `publish = false`"));
        }
        for dep in normal_deps.get(&member.id).into_iter().flatten() {
            let dep_name = packages[dep].name.as_str();
            if (dep_name.starts_with("parterre-") || dep_name == "xtask") && !rule.internal.contains(&dep_name) {
                problems.push(format!(
                    "{name} may not depend on {dep_name}: dependencies point down only"
                ));
            }
        }
        for dep_name in closure(&member.id, &normal_deps, &packages) {
            if let Some(prefix) = rule.forbidden.iter().find(|p| dep_name.starts_with(*p)) {
                problems.push(format!(
                    "{name} must never depend on {prefix} (found {dep_name} in its graph)"
                ));
            }
        }
    }
    Ok(problems)
}

/// Names of every package reachable through normal dependencies.
fn closure<'a>(
    root: &'a PackageId,
    deps: &HashMap<&'a PackageId, Vec<&'a PackageId>>,
    packages: &HashMap<&'a PackageId, &'a Package>,
) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![root];
    let mut names = BTreeSet::new();
    while let Some(id) = stack.pop() {
        for dep in deps.get(id).into_iter().flatten() {
            if seen.insert(*dep) {
                names.insert(packages[dep].name.as_str());
                stack.push(dep);
            }
        }
    }
    names
}

/// Each crate root opens with `//!` saying what the crate is and what it must
/// never depend on.
fn check_docs(member: &Package, problems: &mut Vec<String>) {
    let Some(root) = member
        .targets
        .iter()
        .find(|t| is_library(t))
        .or_else(|| member.targets.iter().find(|t| t.is_bin()))
    else {
        problems.push(format!("{}: no library or binary target", member.name));
        return;
    };
    let text = match std::fs::read_to_string(&root.src_path) {
        Ok(text) => text,
        Err(error) => {
            problems.push(format!("{}: cannot read {}: {error}", member.name, root.src_path));
            return;
        }
    };
    if !text.starts_with("//!") {
        problems.push(format!(
            "{}: {} must open with a `//!` doc comment",
            member.name, root.src_path
        ));
    }
    if is_library(root) && member.name != "parterre-benches" && !text.contains("Must never depend on") {
        problems.push(format!(
            "{}: {} must say what it must never depend on",
            member.name, root.src_path
        ));
    }
}

fn is_library(target: &Target) -> bool {
    target
        .kind
        .iter()
        .any(|kind| matches!(kind, TargetKind::Lib | TargetKind::RLib | TargetKind::CDyLib))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> Metadata {
        MetadataCommand::new().exec().expect("cargo metadata")
    }

    /// Renames a package everywhere in the graph, as if another crate stood there.
    fn rename(metadata: &mut Metadata, from: &str, to: &str) {
        for package in metadata.packages.iter_mut().filter(|p| p.name.as_str() == from) {
            let mut renamed = serde_json::to_value(&*package).expect("package to json");
            renamed["name"] = to.into();
            *package = serde_json::from_value(renamed).expect("json to package");
        }
    }

    #[test]
    fn the_workspace_keeps_its_rules() {
        assert_eq!(violations(&workspace()).expect("check"), Vec::<String>::new());
    }

    #[test]
    fn a_forbidden_crate_deep_in_the_graph_is_caught() {
        // Negative control: core's histogram crate renamed to candle-core.
        let mut metadata = workspace();
        rename(&mut metadata, "hdrhistogram", "candle-core");
        let problems = violations(&metadata).expect("check");
        assert!(
            problems
                .iter()
                .any(|p| p == "parterre-core must never depend on candle (found candle-core in its graph)"),
            "{problems:?}"
        );
    }

    #[test]
    fn an_upward_dependency_is_caught() {
        // Negative control: server's aggregate dependency renamed to vision.
        let mut metadata = workspace();
        rename(&mut metadata, "parterre-aggregate", "parterre-vision");
        let problems = violations(&metadata).expect("check");
        assert!(
            problems
                .iter()
                .any(|p| p == "parterre-server may not depend on parterre-vision: dependencies point down only"),
            "{problems:?}"
        );
    }
}
